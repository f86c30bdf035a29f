"""Floor 7, the commands: ``digest`` (cli) and what each command does, from a date to a published site.

``cli`` parses arguments and calls one module per command: ``run`` (one date: gate, lock, notebook,
outcome), ``notebook`` (papermill + nbconvert), ``daily`` (the scheduler's command), ``publish`` (the human
gate's last step), ``site`` and ``site_pages`` (the Jekyll destination and its pages), ``weekly``,
``notify``, ``check`` (one probe of the endpoint), ``demo`` and ``replay_llm`` (the bundled sample day).

Must not: hold logic that another command needs (that belongs on a lower floor).
"""

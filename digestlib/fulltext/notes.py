"""The clean notes shown to people about a full text (``FullText.detail``), and what an answer may be.

Owns the wording of every download and extraction outcome, so no raw exception string ever reaches a
post or the review UI. Must not decide anything: the modules that meet each case pick the note.
"""

from __future__ import annotations

__all__ = ["ACCEPTED_CONTENT_TYPES", "DETAIL"]

# Clean notes shown to people (``FullText.detail``); never raw exception strings.
DETAIL = {
    "not_found": "PDF 尚未发布（arXiv 返回 404）",
    "not_pdf": "PDF 尚未就绪（arXiv 返回的不是 PDF 文件）",
    "unavailable": "arXiv 暂时不可用（HTTP {code}），稍后重试",
    "network": "无法连接 arXiv（网络错误），稍后重试",
    "http_error": "arXiv 拒绝了请求（HTTP {code}）",
    "download_timeout": "下载超时（{seconds:g} 秒内未完成），稍后重试",
    "too_large": "PDF 超过大小上限（{mb:g} MB），已停止下载",
    "truncated": "PDF 不完整（文件被截断）",
    "download_truncated": "PDF 下载不完整（传输中断），稍后重试",
    "corrupt": "PDF 文件已损坏，无法解析",
    "encrypted": "PDF 已加密，无法提取文本",
    "no_text": "PDF 中没有可提取的文本（可能是扫描图像）",
    "extract_timeout": "PDF 文本提取超时（超过 {seconds:g} 秒）",
    "extract_crashed": "PDF 解析进程意外退出",
    "extract_error": "PDF 文本提取失败",
    "partial_pages": "仅提取了前 {done} 页（共 {total} 页）",
    "partial_time": "提取超时，仅提取了前 {done} 页（共 {total} 页）",
    "missing_file": "PDF 文件不存在",
    "not_in_snapshot": "回放的快照中没有这份全文",
    "redirect_refused": "arXiv 的回答重定向到其他主机（{host}），已拒绝下载",
}

# What a PDF or HTML answer may be labelled (an empty label is checked by content instead).
ACCEPTED_CONTENT_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/octet-stream",
                                    "binary/octet-stream", "text/html", "application/xhtml+xml"})


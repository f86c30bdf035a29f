// The site's search: loads the index the site built (search.json) and finds papers by arXiv id, title,
// author, category or words of the (Chinese) abstract. Every word of the query must match. No network
// beyond the site itself, no library.
(function () {
  "use strict";
  var script = document.currentScript;
  var indexUrl = script.getAttribute("data-index");
  var box = document.getElementById("search-box");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var papers = null;

  function normalize(text) {
    return String(text || "").toLowerCase().normalize("NFKC");
  }

  function terms(query) {
    return normalize(query).replace(/arxiv:/g, " ").split(/[\s,，、;；]+/)
      .map(function (t) { return t.replace(/^(\d{4}\.\d{4,5})v\d+$/, "$1"); })
      .filter(function (t) { return t.length > 0; });
  }

  function haystack(p) {
    return normalize([p.id, p.versioned_id, p.title, (p.authors || []).join(" "),
                      (p.categories || []).join(" "), p.abstract].join("\n"));
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function snippet(abstract, words) {
    var text = String(abstract || "");
    var lower = normalize(text);
    var at = -1;
    words.forEach(function (w) { var i = lower.indexOf(w); if (i >= 0 && (at < 0 || i < at)) at = i; });
    var start = Math.max(0, at - 40);
    var cut = text.slice(start, start + 140);
    return (start > 0 ? "…" : "") + cut + (start + 140 < text.length ? "…" : "");
  }

  function show(query) {
    var words = terms(query);
    list.textContent = "";
    if (!words.length) { status.textContent = papers ? "共 " + papers.length + " 篇论文可搜索。" : ""; return; }
    var found = papers.filter(function (p) {
      var hay = p._hay || (p._hay = haystack(p));
      return words.every(function (w) { return hay.indexOf(w) >= 0; });
    });
    status.textContent = found.length ? "找到 " + found.length + " 篇论文。" : "没有找到匹配的论文。";
    found.slice(0, 200).forEach(function (p) {
      var item = el("li", "search-result");
      item.setAttribute("data-arxiv-id", p.id);
      var link = el("a", "paper-title", p.title);
      link.href = p.url;
      item.appendChild(link);
      item.appendChild(el("div", "paper-meta", p.date + " · arXiv:" + p.versioned_id + " · " +
                          (p.authors || []).join(", ")));
      item.appendChild(el("p", "paper-snippet", snippet(p.abstract, words)));
      list.appendChild(item);
    });
  }

  var initial = new URLSearchParams(window.location.search).get("q") || "";
  box.value = initial;
  status.textContent = "正在载入索引……";
  fetch(indexUrl, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (data) {
      papers = data;
      document.documentElement.setAttribute("data-search-ready", "true");
      show(box.value);
      box.addEventListener("input", function () {
        show(box.value);
        var url = new URL(window.location.href);
        if (box.value) url.searchParams.set("q", box.value); else url.searchParams.delete("q");
        window.history.replaceState(null, "", url);
      });
    })
    .catch(function (err) { status.textContent = "索引载入失败：" + err.message; });
  box.form.addEventListener("submit", function (e) { if (papers) { e.preventDefault(); show(box.value); } });
})();

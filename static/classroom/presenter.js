// Presenter mode: the projector shows what the room follows; the join code and QR stay until the instructor hides
// them. The console socket says when the class changed: this page then reloads what it shows.
(() => {
  "use strict";

  const join = document.getElementById("presenter-join");
  if (!join) return;
  const token = join.dataset.token;
  let delay = 500;

  async function look() {
    const r = await fetch(`/class/${token}/present`, { headers: { "Accept": "text/html" } });
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.getElementById("presenter-join");
    if (document.body.dataset.slug !== doc.body.dataset.slug) { location.reload(); return; }
    if (fresh) join.hidden = fresh.hidden;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/class/console/${token}/?presenter=1`);
    ws.onopen = () => { delay = 500; };
    ws.onmessage = (e) => { if (JSON.parse(e.data).type === "class") look(); };
    ws.onclose = () => { setTimeout(connect, delay); delay = Math.min(delay * 2, 8000); };
  }
  connect();

  // The drawing fits its panel: with many nodes or pods the whole page is set smaller (--fit scales the root
  // size), to 18 px at least, under that only when the drawing would be cut otherwise (--floor); the wires are
  // drawn again for the new sizes.
  const root = document.documentElement;
  const cluster = document.querySelector(".layout > .cluster");
  const figure = document.getElementById("figure");
  const over = () => cluster.scrollHeight > cluster.clientHeight + 1 || root.scrollHeight > innerHeight ||
    root.scrollWidth > innerWidth;
  const px = () => parseFloat(getComputedStyle(root).fontSize);
  let pending = 0;
  function fit() {
    pending = 0;
    let f = 1;
    root.style.setProperty("--fit", "1");
    root.style.removeProperty("--floor");
    while (over() && f > 0.4) {
      if (px() <= 18) root.style.setProperty("--floor", "10px");
      f = Math.round((f - 0.05) * 100) / 100;
      root.style.setProperty("--fit", String(f));
    }
    root.dataset.fit = String(f);
    window.dispatchEvent(new Event("resize"));
  }
  const soon = () => { if (!pending) pending = setTimeout(fit, 200); };
  const isToken = (n) => n.nodeType === 1 && n.classList.contains("token");
  if (cluster && figure) {
    new MutationObserver((records) => {
      if (records.some((r) => ![...r.addedNodes, ...r.removedNodes].every(isToken))) soon();
    }).observe(figure, { childList: true, subtree: true });
    window.addEventListener("resize", (e) => { if (e.isTrusted) soon(); });
    soon();
  }
})();

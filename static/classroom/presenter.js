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
})();

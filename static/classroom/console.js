// The instructor's console: tiles arrive rendered over the class's console socket (one per student, whenever their
// playground's feed or lesson moved); this script puts them in place, sorts and filters them, and marks a tile
// stuck once its student has made no progress for the class's stuck time.
(() => {
  "use strict";

  const body = document.body;
  const token = body.dataset.token;
  const tiles = document.getElementById("tiles");
  const live = document.getElementById("live");
  const sort = document.getElementById("sort");
  const filter = document.getElementById("filter");
  const stuckSeconds = Number(body.dataset.stuckMinutes || 5) * 60;
  let delay = 500;

  function markStuck(tile) {
    const finished = tile.dataset.finished === "1";
    const since = Date.now() / 1000 - Number(tile.dataset.progressAt || 0);
    const stuck = !finished && since > stuckSeconds;
    tile.classList.toggle("stuck", stuck);
    const flag = tile.querySelector(".stuck-flag");
    if (flag) flag.hidden = !stuck;
  }

  function arrange() {
    const all = [...tiles.querySelectorAll(".tile")];
    const how = sort.value;
    all.sort((a, b) => {
      if (how === "progress") {
        const pa = Number(a.dataset.done) / Math.max(1, Number(a.dataset.total));
        const pb = Number(b.dataset.done) / Math.max(1, Number(b.dataset.total));
        return pb - pa || a.dataset.name.localeCompare(b.dataset.name);
      }
      if (how === "name") return a.dataset.name.localeCompare(b.dataset.name);
      return Number(a.dataset.student) - Number(b.dataset.student);
    });
    const show = filter.value;
    for (const tile of all) {
      markStuck(tile);
      tile.hidden = (show === "stuck" && !tile.classList.contains("stuck")) ||
        (show === "hand" && tile.dataset.hand !== "1");
      tiles.appendChild(tile);
    }
    document.getElementById("student-count").textContent = String(all.length);
    document.getElementById("no-students").hidden = all.length > 0;
  }

  function place(msg) {
    const holder = document.createElement("div");
    holder.innerHTML = msg.html;
    const tile = holder.firstElementChild;
    const old = document.getElementById(`tile-${msg.id}`);
    if (old) old.replaceWith(tile); else tiles.appendChild(tile);
    if (window.htmx) window.htmx.process(tile);
    arrange();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/class/console/${token}/?lang=${body.dataset.lang}`);
    ws.onopen = () => { delay = 500; live.classList.add("on"); live.textContent = live.dataset.live || "live"; };
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "tile") place(msg);
      else if (msg.type === "class" && window.htmx) {
        window.htmx.ajax("GET", `/class/${token}/controls`, { target: "#controls", swap: "outerHTML" });
      }
    };
    ws.onclose = () => {
      live.classList.remove("on");
      live.textContent = live.dataset.reconnecting || "…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
  }

  sort.addEventListener("change", arrange);
  filter.addEventListener("change", arrange);
  setInterval(() => tiles.querySelectorAll(".tile").forEach(markStuck), 10000);
  arrange();
  connect();
})();

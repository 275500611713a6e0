// The live page: draws the cluster from the WebSocket feed and animates each change as a token.
// The server sends the full state on connect, then batches of changes (at most one per ~100 ms). Every write
// is applied only if it is newer than what the page holds, so the snapshot and the first batch may overlap.
(() => {
  "use strict";

  const body = document.body;
  const slug = body.dataset.slug;
  const W = JSON.parse(document.getElementById("words").textContent);
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const figure = document.getElementById("figure");

  const objects = new Map(); // "Kind/ns/name" -> compact row (see playground/story.py `row`)
  const etcd = new Map(); // etcd key -> {rev, fresh}
  const dirty = new Set();
  let revision = 0;
  let stepNo = 0;
  let tempo = body.dataset.tempo;
  let paused = body.dataset.paused === "1";
  let showSystem = false;

  const k = (kind, ns, name) => `${kind}/${ns}/${name}`;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const ofKind = (kind) => [...objects.values()].filter((o) => o.kind === kind);
  const phaseClass = (status) =>
    ["Pending", "ContainerCreating", "Running", "Terminating", "ErrImagePull", "ImagePullBackOff"]
      .includes(status) ? `phase-${status}` : "phase-Other";

  // ---------------------------------------------------------------------------------------------------------
  // Applying the feed

  function etcdKey(row) {
    const prefix = { Pod: "pods", Deployment: "deployments", ReplicaSet: "replicasets", Service: "services/specs",
      Endpoints: "services/endpoints", Event: "events", Node: "minions" }[row.kind] || `${row.kind.toLowerCase()}s`;
    return row.ns ? `/registry/${prefix}/${row.ns}/${row.name}` : `/registry/${prefix}/${row.name}`;
  }

  function loadState(msg) {
    objects.clear();
    etcd.clear();
    for (const row of msg.objects) {
      objects.set(k(row.kind, row.ns, row.name), row);
      etcd.set(etcdKey(row), { rev: row.rv, fresh: false });
    }
    revision = msg.revision;
    document.getElementById("steps").replaceChildren();
    stepNo = 0;
    for (const c of msg.changes) if (c.step) addStep(c, false);
    for (const kind of ["Pod", "Node", "Service", "Deployment", "ReplicaSet", "Event", "etcd"]) dirty.add(kind);
    document.querySelectorAll("[data-pods]").forEach((ul) => ul.replaceChildren());
    schedule();
  }

  function applyChange(c) {
    const id = k(c.kind, c.ns, c.name);
    const have = objects.get(id);
    revision = Math.max(revision, c.rev);
    if (have && have.rv >= c.rev) return; // the snapshot already had this or a newer write
    // Rows on the wire leave out what the change already names and empty fields.
    const row = { kind: c.kind, ns: c.ns, name: c.name, ...c.row, rv: c.rev };
    if (c.type === "DELETED") objects.delete(id);
    else objects.set(id, row);
    if (c.type === "DELETED") etcd.delete(etcdKey(row));
    else etcd.set(etcdKey(row), { rev: c.rev, fresh: true });
    dirty.add(c.kind).add("etcd");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Steps and tokens: the story, in the order the feed tells it

  const queue = [];
  let running = false;
  const hopMs = () => ({ classroom: 650, realtime: 160, instant: 0 })[tempo] ?? 160;

  function addStep(c, current) {
    const list = document.getElementById("steps");
    stepNo += 1;
    const li = el("li", current ? "current" : "");
    li.value = stepNo;
    li.dataset.actor = c.actor;
    li.textContent = c.step.text;
    list.querySelectorAll("li.current").forEach((x) => x.classList.remove("current"));
    list.append(li);
    while (list.children.length > 200) list.firstElementChild.remove();
    if (followSteps) list.scrollTop = list.scrollHeight;
  }

  // The list follows the newest step unless the reader has scrolled up to look at an older one.
  let followSteps = true;
  document.getElementById("steps").addEventListener("scroll", (e) => {
    const list = e.target;
    followSteps = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  });

  function boxes(name) {
    if (name.endsWith("@*")) return [...document.querySelectorAll(`[data-box^="${name.slice(0, -1)}"]`)];
    const b = document.querySelector(`[data-box="${CSS.escape(name)}"]`);
    return b ? [b] : [];
  }

  function centre(box) {
    const f = figure.getBoundingClientRect();
    const r = box.getBoundingClientRect();
    return [r.left - f.left + r.width / 2, r.top - f.top + r.height / 2];
  }

  function flash(box, ms) {
    box.classList.add("active");
    setTimeout(() => box.classList.remove("active"), Math.max(ms, 300));
  }

  // One token per change. The path fans out at a "kube-proxy@*" hop (every node's kube-proxy).
  function animate(step, actor) {
    const per = hopMs();
    const hops = step.path.map(boxes);
    if (!per || reducedMotion.matches) {
      hops.flat().forEach((b) => flash(b, 600));
      return Promise.resolve();
    }
    const fixed = hops.filter((h) => h.length === 1).map((h) => h[0]);
    const fan = hops.find((h) => h.length > 1) || [null];
    const runs = fan.map((end) => {
      const route = end ? [...fixed, end] : fixed;
      if (route.length < 2) return Promise.resolve();
      const token = el("span", `token by-${actor.split(/[/:]/)[0].replace(/\s.*/, "")}`);
      figure.append(token);
      const frames = route.map((b) => {
        const [x, y] = centre(b);
        return { transform: `translate(${x}px, ${y}px)` };
      });
      route.forEach((b, i) => setTimeout(() => flash(b, per), i * per));
      const anim = token.animate(frames, { duration: per * (route.length - 1), easing: "ease-in-out" });
      return anim.finished.catch(() => null).then(() => token.remove());
    });
    return Promise.all(runs);
  }

  async function drain() {
    if (running) return;
    running = true;
    while (queue.length) {
      // A burst (scale to 300) is told without tokens, so the list never lags far behind the cluster.
      const burst = queue.length > 25 || tempo === "instant";
      const c = queue.shift();
      applyChange(c);
      schedule();
      addStep(c, true);
      if (burst) {
        c.step.path.flatMap(boxes).forEach((b) => flash(b, 300));
        continue;
      }
      const done = animate(c.step, c.actor);
      // Classroom tempo tells one step at a time; realtime lets tokens overlap.
      if (tempo === "classroom") await done;
      else await new Promise((r) => setTimeout(r, 60));
    }
    running = false;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Drawing

  function podChip(pod) {
    const id = `pod-${pod.ns}-${pod.name}`;
    let li = document.getElementById(id);
    if (!li) {
      li = el("li", "chip-slot");
      li.id = id;
      const b = el("button", "chip");
      b.type = "button";
      b.dataset.why = k("Pod", pod.ns, pod.name);
      b.append(el("span", "n"), el("span", "i"), el("span", "ip"), el("span", "s"));
      li.append(b);
    }
    const b = li.firstElementChild;
    b.className = `chip ${phaseClass(pod.status)}`;
    b.querySelector(".n").textContent = pod.name;
    b.querySelector(".i").textContent = pod.image || "";
    b.querySelector(".ip").textContent = pod.ip || "";
    b.querySelector(".s").textContent = pod.status;
    const label = `${pod.name} ${pod.status} ${pod.image || ""} ${pod.ip || ""}`;
    b.title = label;
    b.setAttribute("aria-label", label);
    return li;
  }

  function renderPods() {
    const lists = new Map([...document.querySelectorAll("[data-pods]")].map((ul) => [ul.dataset.pods, ul]));
    const seen = new Set();
    const hidden = new Map();
    for (const pod of ofKind("Pod").sort((a, b) => (a.created || "").localeCompare(b.created || ""))) {
      const ul = lists.get(pod.node) || lists.get("");
      if (pod.system && !showSystem) {
        hidden.set(ul, (hidden.get(ul) || 0) + 1);
        continue;
      }
      const li = podChip(pod);
      seen.add(li.id);
      if (li.parentElement !== ul) ul.append(li);
    }
    for (const ul of lists.values()) {
      for (const li of [...ul.children]) if (li.id && !seen.has(li.id)) li.remove();
      let summary = ul.querySelector(".system-summary");
      const n = hidden.get(ul) || 0;
      if (n && !summary) {
        summary = el("li", "system-summary");
        ul.prepend(summary);
      }
      if (summary) {
        if (n) summary.textContent = W.system.replace("%s", n);
        else summary.remove();
      }
      // Many pods on one node: chips condense to coloured tiles (name and status stay in the tooltip).
      const count = ul.querySelectorAll(".chip").length;
      ul.classList.toggle("dense", count > 12);
      ul.classList.toggle("tiny", count > 48);
      ul.closest(".unscheduled")?.classList.toggle("empty", count === 0);
    }
  }

  const matches = (selector, labels) =>
    selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([a, v]) => (labels || {})[a] === v);

  function renderServices() {
    const box = document.getElementById("services");
    const services = ofKind("Service").filter((s) => s.ns !== "kube-system");
    box.replaceChildren(...services.map((s) => {
      const ep = objects.get(k("Endpoints", s.ns, s.name));
      const b = el("button", "svc");
      b.type = "button";
      b.id = `svc-${s.ns}-${s.name}`;
      b.dataset.why = k("Service", s.ns, s.name);
      b.append(el("strong", "", s.name), el("span", `type type-${s.type}`, s.type),
        el("span", "ip", s.clusterIP || ""), el("span", "ports", s.ports || ""),
        el("span", "eps", W.endpoints.replace("%s", ep ? (ep.ips || []).length : 0)));
      return b;
    }));
    drawWires();
  }

  function drawWires() {
    const svg = document.getElementById("wires");
    const f = figure.getBoundingClientRect();
    svg.setAttribute("viewBox", `0 0 ${f.width} ${f.height}`);
    const lines = [];
    for (const s of ofKind("Service")) {
      const card = document.getElementById(`svc-${s.ns}-${s.name}`);
      if (!card) continue;
      const ready = new Set(objects.get(k("Endpoints", s.ns, s.name))?.ips || []);
      const [sx, sy] = centre(card);
      const pods = ofKind("Pod").filter((p) => p.ns === s.ns && matches(s.selector, p.labels));
      for (const p of pods.slice(0, 60)) {
        const chip = document.getElementById(`pod-${p.ns}-${p.name}`);
        if (!chip) continue;
        const [px, py] = centre(chip);
        const cls = ready.has(p.ip) ? "wire ready" : "wire";
        lines.push(`<line class="${cls}" x1="${sx}" y1="${sy - 14}" x2="${px}" y2="${py}"/>`);
      }
    }
    svg.innerHTML = lines.join("");
  }

  function renderRollouts() {
    const box = document.getElementById("rollouts");
    const deps = ofKind("Deployment").filter((d) => d.ns !== "kube-system");
    if (!deps.length) {
      box.replaceChildren(el("p", "muted", W.noDeployments));
      return;
    }
    const podsByOwner = new Map();
    for (const p of ofKind("Pod")) podsByOwner.set(p.owner, [...(podsByOwner.get(p.owner) || []), p]);
    box.replaceChildren(...deps.map((d) => {
      const sets = ofKind("ReplicaSet").filter((r) => r.ns === d.ns && r.owner === d.name)
        .sort((a, b) => Number(a.revision) - Number(b.revision));
      const live = sets.filter((r) => r.desired > 0 || r.current > 0 || (podsByOwner.get(r.name) || []).length);
      const card = el("div", "rollout");
      const rolling = live.length > 1;
      card.append(el("h3", "", `${d.name} ${rolling ? "· " + W.rolling : ""}`));
      const pods = live.flatMap((r) => podsByOwner.get(r.name) || []);
      const available = pods.filter((p) => p.status === "Running").length;
      card.append(el("p", "budget", W.budget
        .replace("%(surge)s", d.surge || 0).replace("%(max)s", (d.replicas || 0) + (d.surge || 0))
        .replace("%(now)s", pods.length).replace("%(unavailable)s", d.unavailable || 0)
        .replace("%(min)s", Math.max(0, (d.replicas || 0) - (d.unavailable || 0)))
        .replace("%(ready)s", available)));
      const cols = el("div", "sets");
      const newest = live.length ? live[live.length - 1].name : "";
      for (const r of live) {
        const col = el("div", `set ${r.name === newest ? "new" : "old"}`);
        col.append(el("h4", "", `${r.name === newest ? W.newSet : W.oldSet} · ${W.revision} ${r.revision}`),
          el("p", "", `${r.name}`), el("p", "img", r.image || ""),
          el("p", "", `${W.desired} ${r.desired || 0} · ${W.current} ${r.current || 0} · ${W.ready} ${r.ready || 0}`));
        const ul = el("ul", "mini");
        for (const p of podsByOwner.get(r.name) || []) {
          const t = el("li", `chip ${phaseClass(p.status)}`);
          t.title = `${p.name} ${p.status}`;
          ul.append(t);
        }
        col.append(ul);
        cols.append(col);
      }
      card.append(cols);
      const owners = new Map(pods.map((p) => [p.ip, p.owner]));
      for (const s of ofKind("Service").filter((s) => s.ns === d.ns && pods.some((p) => matches(s.selector, p.labels)))) {
        const ep = objects.get(k("Endpoints", s.ns, s.name));
        const line = el("p", "endpoints", `${W.serviceEndpoints.replace("%s", s.name)} `);
        for (const ip of ep?.ips || []) {
          line.append(el("code", owners.get(ip) === newest ? "ep new" : "ep old", ip), " ");
        }
        card.append(line);
      }
      return card;
    }));
  }

  function renderEtcd() {
    const list = document.getElementById("etcd-keys");
    const rows = [...etcd.entries()].sort((a, b) => b[1].rev - a[1].rev).slice(0, 120);
    list.replaceChildren(...rows.map(([key, v]) => {
      const li = el("li", v.fresh ? "fresh" : "");
      li.append(el("code", "", key), el("span", "rev", String(v.rev)));
      v.fresh = false;
      return li;
    }));
    document.getElementById("etcd-revision").textContent = `${W.etcdRevision} ${revision} · ${etcd.size} ${W.keys}`;
  }

  function age(ts) {
    if (!ts) return "<unknown>";
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
    if (s < 120) return `${s}s`;
    if (s < 600) return `${Math.floor(s / 60)}m${s % 60 ? (s % 60) + "s" : ""}`;
    if (s < 3600) return `${Math.floor(s / 60)}m`;
    if (s < 172800) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? Math.floor((s % 3600) / 60) + "m" : ""}`;
    return `${Math.floor(s / 86400)}d`;
  }

  function table(title, head, rows) {
    const wrap = el("div", "kget");
    wrap.append(el("h3", "", title));
    const t = el("table");
    const tr = el("tr");
    head.forEach((h) => tr.append(el("th", "", h)));
    t.append(el("thead"));
    t.tHead.append(tr);
    const tb = el("tbody");
    for (const r of rows) {
      const row = el("tr");
      r.forEach((c) => row.append(el("td", "", String(c))));
      tb.append(row);
    }
    t.append(tb);
    wrap.append(rows.length ? t : el("p", "muted", W.noResources));
    return wrap;
  }

  function renderTables() {
    const inDefault = (o) => o.ns === "default";
    const byName = (a, b) => a.name.localeCompare(b.name);
    const deps = ofKind("Deployment").filter(inDefault).sort(byName);
    const sets = ofKind("ReplicaSet").filter(inDefault).sort(byName);
    const pods = ofKind("Pod").filter(inDefault).sort(byName);
    const svcs = ofKind("Service").filter(inDefault).sort(byName);
    const events = ofKind("Event").filter(inDefault).sort((a, b) => (b.last || "").localeCompare(a.last || "")).slice(0, 12);
    document.getElementById("tables").replaceChildren(
      table("kubectl get deployments", ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        deps.map((d) => [d.name, `${d.ready || 0}/${d.replicas || 0}`, d.updated || 0, d.available || 0, age(d.created)])),
      table("kubectl get replicasets", ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        sets.map((r) => [r.name, r.desired || 0, r.current || 0, r.ready || 0, age(r.created)])),
      table("kubectl get pods -o wide", ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"],
        pods.map((p) => [p.name, p.ready, p.status, p.restarts || 0, age(p.created), p.ip || "<none>", p.node || "<none>"])),
      table("kubectl get services", ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        svcs.map((s) => [s.name, s.type, s.clusterIP || "None", "<none>", s.ports, age(s.created)])),
      table("kubectl get events", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        events.map((e) => [age(e.last), e.type || "", e.reason || "", e.object || "", e.message || ""])),
    );
    const names = document.getElementById("deployment-names");
    names.replaceChildren(...deps.map((d) => Object.assign(el("option"), { value: d.name })));
  }

  let frame = 0;
  let lastTables = 0;
  let tablesDue = false;
  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }
  function render() {
    frame = 0;
    const any = (...kinds) => kinds.some((x) => dirty.has(x));
    if (any("Pod", "Node")) renderPods();
    if (any("Pod", "Service", "Endpoints")) renderServices();
    if (any("Pod", "Deployment", "ReplicaSet", "Endpoints", "Service")) renderRollouts();
    if (any("etcd")) renderEtcd();
    if (dirty.size) tablesDue = true;
    dirty.clear();
    // Tables are the heaviest part: at most ~3 times a second.
    if (tablesDue) {
      const wait = 300 - (performance.now() - lastTables);
      if (wait <= 0) {
        renderTables();
        lastTables = performance.now();
        tablesDue = false;
      } else setTimeout(schedule, wait);
    }
  }
  setInterval(() => { tablesDue = true; schedule(); }, 5000); // AGE columns move on

  // ---------------------------------------------------------------------------------------------------------
  // The socket

  const live = document.getElementById("live");
  let retry = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/p/${slug}/?lang=${body.dataset.lang}`);
    ws.onopen = () => { retry = 1000; };
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "state") {
        queue.length = 0;
        loadState(msg);
        live.textContent = W.live;
        live.classList.add("on");
        return;
      }
      // A change with a step is drawn when its step is told, so the chips move in time with the story.
      for (const c of msg.changes) {
        if (c.step) queue.push(c);
        else applyChange(c);
      }
      schedule();
      drain();
    };
    ws.onclose = () => {
      live.textContent = W.reconnecting;
      live.classList.remove("on");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 8000);
    };
  }
  connect();

  // ---------------------------------------------------------------------------------------------------------
  // Controls

  document.getElementById("show-system").addEventListener("change", (e) => {
    showSystem = e.target.checked;
    dirty.add("Pod");
    schedule();
  });

  document.addEventListener("click", (e) => {
    const target = e.target.closest("[data-why]");
    if (!target) return;
    const [kind, ns, name] = target.dataset.why.split("/");
    window.htmx.ajax("GET", `${body.dataset.whyUrl}${kind}/${ns}/${name}`, { target: "#why" });
  });

  document.body.addEventListener("kubeplay:tempo", (e) => {
    tempo = e.detail.tempo;
    paused = e.detail.paused;
    body.dataset.paused = paused ? "1" : "0";
  });

  // After Deploy, the other forms (and curl) act on the new deployment.
  document.body.addEventListener("htmx:beforeRequest", (e) => {
    const form = e.detail.elt;
    if (form.matches && form.matches("form[hx-post$='/deploy']")) {
      const name = form.elements.name.value.trim();
      document.querySelectorAll("input.dep, #curl-target").forEach((i) => { i.value = name; });
    }
  });

  // The terminal: clear the line after each command, keep a history on the arrow keys.
  const termForm = document.getElementById("terminal-form");
  const termLine = document.getElementById("terminal-line");
  const termOut = document.getElementById("terminal-output");
  const history = [];
  let back = 0;
  termForm.addEventListener("htmx:afterRequest", () => {
    if (termLine.value.trim()) history.push(termLine.value);
    back = history.length;
    termLine.value = "";
    termOut.scrollTop = termOut.scrollHeight;
  });
  termLine.addEventListener("keydown", (e) => {
    if (e.key === "ArrowUp" && back > 0) termLine.value = history[--back];
    else if (e.key === "ArrowDown" && back < history.length) termLine.value = history[++back] || "";
    else return;
    e.preventDefault();
  });

  window.addEventListener("resize", () => drawWires());
})();

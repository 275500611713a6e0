// The live page: draws the cluster from the WebSocket feed and animates each change as a token.
// The server sends the full state on connect, then batches of changes (at most one per ~50 ms). Every write
// is applied only if it is newer than what the page holds, so the snapshot and the first batch may overlap.
// A batch is lean (playground/consumers.py): an entry leaves out the fields it shares with the one before, a row
// comes whole or as the fields that changed (`set`), and in a burst only an object's last entry carries it.
// Drawing is coalesced into one requestAnimationFrame; the heavy panels (rollouts, etcd, tables) at most ~4/s.
(() => {
  "use strict";

  const body = document.body;
  const slug = body.dataset.slug;
  const W = JSON.parse(document.getElementById("words").textContent);
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const figure = document.getElementById("figure");

  const objects = new Map(); // "Kind/ns/name" -> compact row (see playground/story.py `row`)
  const byKind = new Map(); // kind -> Map of the same rows, so a panel reads only its kinds
  const etcd = new Map(); // etcd key -> {rev, fresh}
  const dirty = new Set();
  const CARRIED = ["kind", "ns", "actor", "at", "path"]; // left out when the entry before had the same
  const BURST = 25; // a queue this long is told without tokens (the server sends such pushes leaner too)
  // More pods than this on one node: compact dots, counted per ReplicaSet and phase (the drawing stays on one
  // 1280×720 screen).
  const FULL_CHIPS = 4;
  const PER_POD_WIRES = 24; // more selected pods than this: one line per Service and node, with counts
  let revision = 0;
  let tempo = body.dataset.tempo;
  let paused = body.dataset.paused === "1";
  let showSystem = false;
  let revisionsDue = false;
  let queuedUpTo = 0; // the newest revision taken into the queue: a replay and the live feed may overlap

  const k = (kind, ns, name) => `${kind}/${ns}/${name}`;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const kindMap = (kind) => {
    if (!byKind.has(kind)) byKind.set(kind, new Map());
    return byKind.get(kind);
  };
  const ofKind = (kind) => [...kindMap(kind).values()];
  const put = (id, row) => {
    objects.set(id, row);
    kindMap(row.kind).set(id, row);
  };
  const drop = (id, kind) => {
    objects.delete(id);
    kindMap(kind).delete(id);
  };
  const PHASES = ["Pending", "ContainerCreating", "Running", "Terminating", "ErrImagePull", "ImagePullBackOff"];
  const phaseClass = (status) => PHASES.includes(status) ? `phase-${status}` : "phase-Other";
  const byNumber = (a, b) => a.localeCompare(b, undefined, { numeric: true });

  // ---------------------------------------------------------------------------------------------------------
  // Applying the feed

  function etcdKey(row) {
    const prefix = { Pod: "pods", Deployment: "deployments", ReplicaSet: "replicasets", Service: "services/specs",
      Endpoints: "services/endpoints", Event: "events", Node: "minions" }[row.kind] || `${row.kind.toLowerCase()}s`;
    return row.ns ? `/registry/${prefix}/${row.ns}/${row.name}` : `/registry/${prefix}/${row.name}`;
  }

  function loadState(msg) {
    objects.clear();
    byKind.clear();
    etcd.clear();
    for (const row of msg.objects) {
      put(k(row.kind, row.ns, row.name), row);
      etcd.set(etcdKey(row), { rev: row.rv, fresh: false });
    }
    revision = msg.revision;
    queuedUpTo = msg.revision;
    document.getElementById("steps").replaceChildren();
    currentStep = null;
    tellAll(msg.changes.filter((c) => c.step), false);
    for (const kind of ["Pod", "Node", "Service", "Deployment", "ReplicaSet", "Event", "etcd"]) dirty.add(kind);
    document.querySelectorAll("[data-pods]").forEach((ul) => ul.replaceChildren());
    heavyDue = true;
    schedule();
  }

  function applyChange(c) {
    const id = k(c.kind, c.ns, c.name);
    const have = objects.get(id);
    revision = Math.max(revision, c.rev);
    if (have && have.rv >= c.rev) return; // the snapshot already had this or a newer write
    const key = etcdKey({ kind: c.kind, ns: c.ns, name: c.name });
    if (c.type === "DELETED") {
      drop(id, c.kind);
      etcd.delete(key);
    } else {
      // Rows on the wire leave out what the change already names and empty fields.
      if (c.row) put(id, { kind: c.kind, ns: c.ns, name: c.name, ...c.row, rv: c.rev });
      else if (c.set) {
        const row = { ...(have || { kind: c.kind, ns: c.ns, name: c.name }), rv: c.rev };
        for (const [f, v] of Object.entries(c.set)) {
          if (v === null) delete row[f];
          else row[f] = v;
        }
        put(id, row);
      } else if (have) have.rv = c.rev; // a later entry of the same push carries the row
      etcd.set(key, { rev: c.rev, fresh: true });
    }
    dirty.add(c.kind).add("etcd");
    // A new, removed or renumbered ReplicaSet changes the Rollback form's list of revisions.
    if (c.kind === "ReplicaSet" && (c.type !== "MODIFIED" || c.row || (c.set && "revision" in c.set))) {
      revisionsDue = true;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Steps and tokens: the story, in the order the feed tells it

  const queue = [];
  let running = false;
  let currentStep = null;
  let stepsMoved = false;
  // At the classroom tempo a step takes as long as the cluster waits between two writes (cluster_core/pacing.py),
  // so the drawing and the cluster move together; its hops share that time.
  const STEP_MS = Number(body.dataset.stepMs) || 2000;
  // A replay from the timeline goes at the tempo its viewer picked; otherwise the playground's tempo.
  let replaying = null;
  const animTempo = () => (replaying ? replaying.tempo : tempo);
  const hopMs = (hops) => ({ classroom: STEP_MS / Math.max(1, hops - 1), realtime: 160, instant: 0 })[animTempo()]
    ?? 160;
  const STEPS_KEPT = 200;
  // The page's own record of what it told, for anyone checking it against the change feed (the browser tests):
  // `animated` the revisions shown one by one with a token, `grouped` those told together in a burst.
  const record = { animated: [], grouped: [], hops: [], replays: [], traffic: [] };
  record.pending = () => queue.length + (running ? 1 : 0);
  window.kubeplay = record;

  // A step is numbered with its revision (the feed's, as the timeline and resourceVersions count): every page
  // numbers it the same — the projector's, a student's who joined later — whenever it was opened.
  function stepItem(c) {
    const li = el("li", "", c.step);
    li.value = c.rev;
    li.dataset.actor = c.actor;
    return li;
  }

  // The step being animated, repeated under the drawing so it stays in view with it.
  const nowStep = document.getElementById("now-step");
  function showNow(li) {
    if (!li) {
      nowStep.replaceChildren();
      return;
    }
    nowStep.replaceChildren(el("span", "no", `${li.value}.`), li.textContent);
  }

  // Appends told steps in one DOM write; the list keeps the last STEPS_KEPT and follows the newest in the frame.
  function tellAll(items, current) {
    if (!items.length) return;
    const list = document.getElementById("steps");
    const skip = Math.max(0, items.length - STEPS_KEPT);
    const lis = items.slice(skip).map(stepItem);
    currentStep?.classList.remove("current");
    currentStep = current ? lis[lis.length - 1] : null;
    currentStep?.classList.add("current");
    showNow(currentStep);
    list.append(...lis);
    const extra = list.children.length - STEPS_KEPT;
    for (let i = 0; i < extra; i += 1) list.firstElementChild.remove();
    stepsMoved = true;
    schedule();
  }

  // The list follows the newest step unless the reader has scrolled up to look at an older one. Only the reader's
  // own scrolling counts (wheel, touch, pointer, keys): trimming the list's head scrolls it too.
  let followSteps = true;
  let readerScrolled = 0;
  const stepsList = document.getElementById("steps");
  for (const type of ["wheel", "touchstart", "pointerdown", "keydown"]) {
    stepsList.addEventListener(type, () => { readerScrolled = performance.now(); }, { passive: true });
  }
  stepsList.addEventListener("scroll", () => {
    if (performance.now() - readerScrolled > 1000) return;
    followSteps = stepsList.scrollHeight - stepsList.scrollTop - stepsList.clientHeight < 80;
  });

  function boxes(name) {
    if (name.startsWith("pod:")) {
      const chip = document.querySelector(`[data-pod="${CSS.escape(name.slice(4))}"]`);
      return chip ? [chip] : [];
    }
    if (name.endsWith("@*")) return [...document.querySelectorAll(`[data-box^="${name.slice(0, -1)}"]`)];
    const b = document.querySelector(`[data-box="${CSS.escape(name)}"]`);
    return b ? [b] : [];
  }

  function centre(box, f = figure.getBoundingClientRect()) {
    const r = box.getBoundingClientRect();
    return [r.left - f.left + r.width / 2, r.top - f.top + r.height / 2];
  }

  // Where a token rests on a box: the point of its edge (a pod chip's colour strip first, then the middles of the
  // sides, on them and just outside, then the corners) at which the token covers the least text of the drawing
  // (none, mostly), so a label stays legible while the token passes it.
  function textRects(f) {
    const out = [];
    const range = document.createRange();
    const walk = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!n.textContent.trim()) continue;
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) {
        if (r.width && r.height) out.push([r.left - f.left, r.top - f.top, r.right - f.left, r.bottom - f.top]);
      }
    }
    return out;
  }

  function landing(box, f, texts, radius) {
    const r = box.getBoundingClientRect();
    const [x, y, w, h] = [r.left - f.left, r.top - f.top, r.width, r.height];
    const out = radius / 2; // a little outside the box, beside a small one hemmed in by text
    const points = [[x + w / 2, y], [x, y + h / 2], [x + w, y + h / 2], [x + w / 2, y + h],
      [x - out, y + h / 2], [x + w + out, y + h / 2], [x + w / 2, y - out], [x + w / 2, y + h + out],
      [x, y], [x + w, y], [x, y + h], [x + w, y + h], [x + w / 2, y + h / 2]];
    if (box.classList.contains("chip")) points.unshift([x + Math.min(6, w / 2), y + h / 2]);
    const covered = ([px, py]) => texts.reduce((sum, [l, t, rt, b]) =>
      sum + Math.max(0, Math.min(px + radius, rt) - Math.max(px - radius, l))
        * Math.max(0, Math.min(py + radius, b) - Math.max(py - radius, t)), 0);
    let best = points[0];
    let least = Infinity;
    for (const p of points) {
      const c = covered(p);
      if (c < least) [best, least] = [p, c];
      if (!c) break;
    }
    return best;
  }

  const lit = new Map(); // box -> timer: a box lit again while lit stays lit, without a second timer
  function flash(box, ms) {
    clearTimeout(lit.get(box));
    box.classList.add("active");
    lit.set(box, setTimeout(() => {
      box.classList.remove("active");
      lit.delete(box);
    }, Math.max(ms, 300)));
  }

  // One token per change. The path fans out at a "kube-proxy@*" hop (every node's kube-proxy).
  // With prefers-reduced-motion the boxes of the path light up together instead, for as long as the token
  // would have travelled, so the story keeps its pace.
  function animate(step, actor) {
    const hops = step.path.map(boxes);
    const per = hopMs(hops.length);
    if (!per || reducedMotion.matches) {
      hops.flat().forEach((b) => flash(b, Math.max(600, per * hops.length)));
      return new Promise((r) => setTimeout(r, per * Math.max(0, hops.length - 1)));
    }
    const f = figure.getBoundingClientRect();
    const texts = textRects(f);
    const fixed = hops.filter((h) => h.length === 1).map((h) => h[0]);
    const fan = hops.find((h) => h.length > 1) || [null];
    const runs = fan.map((end) => {
      const route = end ? [...fixed, end] : fixed;
      if (route.length < 2) return Promise.resolve();
      const token = el("span", `token by-${actor.split(/[/:]/)[0].replace(/\s.*/, "")}`);
      figure.append(token);
      const radius = token.offsetWidth / 2 + 2; // with its outer ring
      const frames = route.map((b) => {
        const [x, y] = landing(b, f, texts, radius);
        return { transform: `translate(${x}px, ${y}px)` };
      });
      route.forEach((b, i) => setTimeout(() => flash(b, per), i * per));
      const anim = token.animate(frames, { duration: per * (route.length - 1), easing: "ease-in-out" });
      return anim.finished.catch(() => null).then(() => token.remove());
    });
    return Promise.all(runs);
  }

  // What a group of steps in a burst is called: who wrote, what kind, and how.
  function verbOf(c) {
    if (c.type === "ADDED") return "created";
    if (c.type === "DELETED") return "deleted";
    if (c.kind === "Pod" && c.actor === "kube-scheduler") return "bound";
    return "changed";
  }

  // A burst (scale to 300, or anything at the instant tempo) cannot be animated one step at a time: it is told in
  // one go, and says so. Every change is applied in order; consecutive steps of one component, kind and verb are
  // one line ("12 Pod bound by kube-scheduler") that opens onto the steps it groups; each box is lit once.
  function tellBurst() {
    const items = queue.splice(0);
    const groups = [];
    const names = new Set();
    for (const c of items) {
      applyChange(c);
      if (!c.step) continue;
      record.grouped.push(c.rev);
      c.path.forEach((n) => names.add(n));
      const last = groups[groups.length - 1];
      const verb = verbOf(c);
      if (last && last.actor === c.actor && last.kind === c.kind && last.verb === verb) last.items.push(c);
      else groups.push({ actor: c.actor, kind: c.kind, verb, items: [c] });
    }
    if (groups.length) {
      const list = document.getElementById("steps");
      // A lone step needs no word that it was not animated on its own: it is told as any step is.
      const total = groups.reduce((n, g) => n + g.items.length, 0);
      const note = total > 1 ? el("li", "burst-note", W.burst.replace("%s", total)) : null;
      const lis = [...(note ? [note] : []), ...groups.map((g) => {
        if (g.items.length === 1) return stepItem(g.items[0]);
        const li = el("li", "group");
        li.value = g.items[0].rev;
        li.dataset.actor = g.actor;
        const details = el("details");
        details.append(el("summary", "", W.grouped[g.verb].replace("%(n)s", g.items.length)
          .replace("%(kind)s", g.kind).replace("%(who)s", g.actor)));
        // The grouped steps as lines, not list items: the story's list items are its numbered steps only.
        const inner = el("div", "grouped");
        for (const c of g.items.slice(-50)) inner.append(el("p", "", c.step));
        details.append(inner);
        li.append(details);
        return li;
      })];
      currentStep?.classList.remove("current");
      currentStep = lis[lis.length - 1];
      currentStep.classList.add("current");
      showNow(currentStep);
      list.append(...lis);
      const extra = list.children.length - STEPS_KEPT;
      for (let i = 0; i < extra; i += 1) list.firstElementChild.remove();
      stepsMoved = true;
    }
    [...names].flatMap(boxes).forEach((b) => flash(b, 400));
    schedule();
  }

  async function drain() {
    if (running) return;
    running = true;
    while (queue.length) {
      // At the classroom tempo every step is animated, however many wait: the cluster waits for them too.
      const pace = animTempo();
      if (pace !== "classroom" && (queue.length > BURST || pace === "instant")) {
        timed("burst", tellBurst);
        await new Promise((r) => requestAnimationFrame(r)); // let the frame draw before the next batch
        continue;
      }
      const c = queue.shift();
      applyChange(c);
      schedule();
      if (!c.step) continue;
      tellAll([c], true);
      record.animated.push(c.rev);
      record.hops.push({ rev: c.rev, path: c.path });
      if (c.kind === "Event") record.traffic.push({ rev: c.rev, path: c.path });
      const done = animate(c, c.actor);
      // Classroom tempo tells one step at a time; realtime lets tokens overlap.
      if (pace === "classroom") await done;
      else await new Promise((r) => setTimeout(r, 60));
    }
    running = false;
    if (replaying) endReplay();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Drawing

  // Nodes the page was not rendered with (added later) get a box like the others, in name order.
  function renderNodes() {
    const workers = document.getElementById("workers");
    const nodes = ofKind("Node").filter((n) => !n.master).sort((a, b) => byNumber(a.name, b.name));
    const template = document.getElementById("node-template");
    let moved = false;
    for (const n of nodes) {
      if (document.getElementById(`node-${n.name}`)) continue;
      const box = template.content.firstElementChild.cloneNode(true);
      box.id = `node-${n.name}`;
      box.dataset.node = n.name;
      box.querySelector("small").textContent = `${n.name} · ${n.ip || ""}`;
      box.querySelector("[data-box^='kubelet@']").dataset.box = `kubelet@${n.name}`;
      box.querySelector("[data-box^='kube-proxy@']").dataset.box = `kube-proxy@${n.name}`;
      box.querySelector("[data-wires]").dataset.wires = n.name;
      const ul = box.querySelector("[data-pods]");
      ul.dataset.pods = n.name;
      ul.setAttribute("aria-label", ul.getAttribute("aria-label").replace("%s", n.name));
      workers.append(box);
      moved = true;
    }
    if (moved) {
      const boxesNow = [...workers.children].sort((a, b) => byNumber(a.dataset.node, b.dataset.node));
      workers.append(...boxesNow);
    }
    // A grid that keeps 3 to 10 nodes on one screen: 2 columns up to 4 nodes, 3 up to 9, then 4.
    const count = workers.children.length;
    workers.style.setProperty("--cols", count <= 1 ? 1 : count <= 4 ? 2 : count <= 9 ? 3 : 4);
    dirty.add("Pod");
  }

  function podChip(pod) {
    const id = `pod-${pod.ns}-${pod.name}`;
    let li = document.getElementById(id);
    if (!li) {
      li = el("li", "chip-slot");
      li.id = id;
      const b = el("button", "chip");
      b.type = "button";
      b.tabIndex = -1;
      b.dataset.why = k("Pod", pod.ns, pod.name);
      // Where a request kube-proxy forwarded ends (not a `data-box`: a pod is no component of the drawing).
      b.dataset.pod = `${pod.ns}/${pod.name}`;
      b.append(el("span", "n"), el("span", "i"), el("span", "ip"), el("span", "s"));
      li.append(b);
    }
    if (li.dataset.rv === String(pod.rv)) return li;
    li.dataset.rv = pod.rv;
    const b = li.firstElementChild;
    b.className = `chip ${phaseClass(pod.status)}`;
    b.dataset.owner = pod.owner || "";
    b.querySelector(".n").textContent = pod.name;
    b.querySelector(".i").textContent = pod.image || "";
    b.querySelector(".ip").textContent = pod.ip || "";
    b.querySelector(".s").textContent = pod.status;
    const label = `${pod.name} ${pod.status} ${pod.image || ""} ${pod.ip || ""}`.trim();
    b.title = label;
    b.setAttribute("aria-label", label);
    return li;
  }

  // The line above a ReplicaSet's dots: its name and how many of its pods are in each phase, in words.
  function groupHead(ul, owner, pods) {
    const id = `grp-${ul.dataset.pods || "none"}-${owner || "none"}`;
    let li = document.getElementById(id);
    if (!li) {
      li = el("li", "group-head");
      li.id = id;
    }
    const counts = new Map();
    for (const p of pods) counts.set(p.status, (counts.get(p.status) || 0) + 1);
    const sig = `${owner}|${pods.length}|${[...counts].join(",")}`;
    if (li.dataset.sig !== sig) {
      li.dataset.sig = sig;
      const parts = [...counts].sort((a, b) => b[1] - a[1])
        .map(([status, n]) => el("span", `count ${phaseClass(status)}`, `${n} ${status}`));
      li.replaceChildren(el("span", "owner", `${owner || "–"} · ${pods.length}`), ...parts);
    }
    return li;
  }

  function renderPods() {
    const lists = new Map([...document.querySelectorAll("[data-pods]")].map((ul) => [ul.dataset.pods, ul]));
    const placed = new Map([...lists.values()].map((ul) => [ul, []]));
    const hidden = new Map();
    for (const pod of ofKind("Pod")) {
      const ul = lists.get(pod.node) || lists.get("");
      if (pod.system && !showSystem) {
        hidden.set(ul, (hidden.get(ul) || 0) + 1);
        continue;
      }
      placed.get(ul).push(pod);
    }
    const focused = document.activeElement;
    for (const [ul, pods] of placed) {
      pods.sort((a, b) => (a.owner || "").localeCompare(b.owner || "") || (a.created || "").localeCompare(b.created || "")
        || a.name.localeCompare(b.name));
      const dense = pods.length > FULL_CHIPS;
      const want = [];
      const n = hidden.get(ul) || 0;
      if (n) {
        let summary = ul.querySelector(".system-summary");
        if (!summary) summary = el("li", "system-summary");
        summary.textContent = W.system.replace("%s", n);
        want.push(summary);
      }
      let i = 0;
      while (i < pods.length) {
        let j = i;
        while (j < pods.length && pods[j].owner === pods[i].owner) j += 1;
        if (dense) want.push(groupHead(ul, pods[i].owner, pods.slice(i, j)));
        for (const p of pods.slice(i, j)) want.push(podChip(p));
        i = j;
      }
      const have = ul.children;
      if (have.length !== want.length || want.some((x, idx) => have[idx] !== x)) ul.replaceChildren(...want);
      ul.classList.toggle("dense", dense);
      ul.closest(".unscheduled")?.classList.toggle("empty", pods.length === 0);
      // One tab stop per node: the arrow keys move between its pods (roving tabindex).
      const chips = ul.querySelectorAll(".chip");
      let stop = [...chips].find((c) => c.tabIndex === 0) || chips[0];
      for (const c of chips) c.tabIndex = c === stop ? 0 : -1;
      stop = null;
    }
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
  }

  const matches = (selector, labels) =>
    selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([a, v]) => (labels || {})[a] === v);

  function renderServices() {
    const box = document.getElementById("services");
    const services = ofKind("Service").filter((s) => s.ns !== "kube-system");
    const cards = services.map((s) => {
      const ep = objects.get(k("Endpoints", s.ns, s.name));
      const id = `svc-${s.ns}-${s.name}`;
      const b = document.getElementById(id) || el("button", "svc");
      const eps = ep ? (ep.ips || []).length : 0;
      b.type = "button";
      b.id = id;
      b.dataset.why = k("Service", s.ns, s.name);
      b.replaceChildren(el("strong", "", s.name), el("span", `type type-${s.type}`, s.type),
        el("span", "ip", s.clusterIP || ""), el("span", "ports", s.ports || ""),
        el("span", "eps", eps === 1 ? W.endpoint : W.endpoints.replace("%s", eps)));
      return b;
    });
    if (cards.length !== box.children.length || cards.some((c, i) => box.children[i] !== c)) box.replaceChildren(...cards);
  }

  // Lines from each Service to what it selects: to every pod while there are few, otherwise one line per node
  // ending at a badge in the node box that counts the node's selected pods and how many are ready endpoints.
  function drawWires() {
    const svg = document.getElementById("wires");
    const f = figure.getBoundingClientRect();
    svg.setAttribute("viewBox", `0 0 ${f.width} ${f.height}`);
    const services = ofKind("Service").filter((s) => s.ns !== "kube-system");
    const pods = ofKind("Pod");
    const selected = services.map((s) => [s, pods.filter((p) => p.ns === s.ns && matches(s.selector, p.labels))]);
    const bundled = selected.reduce((n, [, ps]) => n + ps.length, 0) > PER_POD_WIRES;
    svg.classList.toggle("behind", bundled);
    const badges = new Map([...document.querySelectorAll(".node [data-wires]")].map((d) => [d.dataset.wires, []]));
    const lines = [];
    selected.forEach(([s, ps], index) => {
      const card = document.getElementById(`svc-${s.ns}-${s.name}`);
      if (!card) return;
      const ready = new Set(objects.get(k("Endpoints", s.ns, s.name))?.ips || []);
      const [sx, sy] = centre(card, f);
      if (!bundled) {
        for (const p of ps) {
          const chip = document.getElementById(`pod-${p.ns}-${p.name}`);
          if (!chip) continue;
          const [px, py] = centre(chip, f);
          const cls = ready.has(p.ip) ? "wire ready" : "wire";
          lines.push(`<line class="${cls}" x1="${sx}" y1="${sy - 14}" x2="${px}" y2="${py}"/>`);
        }
        return;
      }
      const perNode = new Map();
      for (const p of ps) {
        if (!p.node || !badges.has(p.node)) continue;
        const n = perNode.get(p.node) || { total: 0, ready: 0 };
        n.total += 1;
        if (ready.has(p.ip)) n.ready += 1;
        perNode.set(p.node, n);
      }
      for (const [node, n] of perNode) {
        const badge = el("span", `svc-badge ${n.ready === n.total ? "ready" : ""}`,
          W.svcOnNode.replace("%(name)s", s.name).replace("%(ready)s", n.ready).replace("%(total)s", n.total));
        badge.dataset.svc = s.name;
        badge.dataset.index = index;
        badges.get(node).push(badge);
      }
    });
    for (const [node, list] of badges) {
      const holder = document.querySelector(`.node [data-wires="${CSS.escape(node)}"]`);
      const sig = list.map((b) => b.textContent).join("|");
      if (holder.dataset.sig !== sig) {
        holder.dataset.sig = sig;
        holder.replaceChildren(...list);
      }
    }
    if (bundled) {
      for (const holder of document.querySelectorAll(".node [data-wires]")) {
        for (const badge of holder.children) {
          const card = document.getElementById(`svc-default-${badge.dataset.svc}`)
            || document.querySelector(`.svc[id$="-${CSS.escape(badge.dataset.svc)}"]`);
          if (!card) continue;
          const [sx, sy] = centre(card, f);
          const r = badge.getBoundingClientRect();
          const x = r.left - f.left + r.width / 2;
          const y = r.bottom - f.top;
          const cls = badge.classList.contains("ready") ? "trunk ready" : "trunk";
          lines.push(`<line class="${cls}" x1="${sx + Number(badge.dataset.index) * 10}" y1="${sy - 14}" x2="${x}" y2="${y}"/>`);
        }
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
    for (const p of ofKind("Pod")) {
      if (!podsByOwner.has(p.owner)) podsByOwner.set(p.owner, []);
      podsByOwner.get(p.owner).push(p);
    }
    box.replaceChildren(...deps.map((d) => {
      const sets = ofKind("ReplicaSet").filter((r) => r.ns === d.ns && r.owner === d.name)
        .sort((a, b) => Number(a.revision) - Number(b.revision));
      const live = sets.filter((r) => r.desired > 0 || r.current > 0 || (podsByOwner.get(r.name) || []).length);
      const card = el("div", "rollout");
      const rolling = live.length > 1;
      card.append(el("h3", "", `${d.name} ${rolling ? "· " + W.rolling : ""}`));
      const pods = live.flatMap((r) => podsByOwner.get(r.name) || []);
      // As the deployment controller counts: the ReplicaSets' desired replicas against maxSurge (a Terminating
      // pod no longer counts), and the ready pods that are not Terminating against maxUnavailable.
      const counted = live.reduce((n, r) => n + (r.desired || 0), 0);
      const available = pods.filter((p) => p.status === "Running").length;
      card.append(el("p", "budget", W.budget
        .replace("%(surge)s", d.surge || 0).replace("%(max)s", (d.replicas || 0) + (d.surge || 0))
        .replace("%(now)s", counted).replace("%(unavailable)s", d.unavailable || 0)
        .replace("%(min)s", Math.max(0, (d.replicas || 0) - (d.unavailable || 0)))
        .replace("%(ready)s", available)));
      const cols = el("div", "sets");
      const newest = live.length ? live[live.length - 1].name : "";
      for (const r of live) {
        const col = el("div", `set ${r.name === newest ? "new" : "old"}`);
        const why = el("button", "rs-why", r.name);
        why.type = "button";
        why.dataset.why = k("ReplicaSet", r.ns, r.name);
        why.setAttribute("aria-label", W.whyOf.replace("%s", `ReplicaSet ${r.name}`));
        col.append(el("h4", "", `${r.name === newest ? W.newSet : W.oldSet} · ${W.revision} ${r.revision}`),
          why, el("p", "img", r.image || ""),
          el("p", "", `${W.desired} ${r.desired || 0} · ${W.current} ${r.current || 0} · ${W.ready} ${r.ready || 0}`));
        // Each phase in words with its count, then one small square per pod (up to 60).
        const owned = podsByOwner.get(r.name) || [];
        const counts = new Map();
        for (const p of owned) counts.set(p.status, (counts.get(p.status) || 0) + 1);
        const line = el("p", "counts");
        for (const [status, n] of counts) line.append(el("span", `count ${phaseClass(status)}`, `${n} ${status}`), " ");
        const ul = el("ul", "mini");
        ul.setAttribute("aria-hidden", "true");
        for (const p of owned.slice(0, 60)) ul.append(el("li", `chip ${phaseClass(p.status)}`));
        col.append(line, ul);
        cols.append(col);
      }
      card.append(cols);
      const owners = new Map(pods.map((p) => [p.ip, p.owner]));
      for (const s of ofKind("Service").filter((s) => s.ns === d.ns && pods.some((p) => matches(s.selector, p.labels)))) {
        const ep = objects.get(k("Endpoints", s.ns, s.name));
        const line = el("p", "endpoints", `${W.serviceEndpoints.replace("%s", s.name)} `);
        const ips = ep?.ips || [];
        if (ips.length > 12) {
          // Many endpoints: how many point at the new ReplicaSet's pods and how many at the old ones.
          const fresh = ips.filter((ip) => owners.get(ip) === newest).length;
          line.append(el("code", "ep new", `${fresh} ${W.newSet}`), " ",
            el("code", "ep old", `${ips.length - fresh} ${W.oldSet}`));
        } else {
          for (const ip of ips) line.append(el("code", owners.get(ip) === newest ? "ep new" : "ep old", ip), " ");
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

  const parsed = new Map();
  function age(ts) {
    if (!ts) return "<unknown>";
    if (!parsed.has(ts)) parsed.set(ts, Date.parse(ts));
    return window.kubectlAge((Date.now() - parsed.get(ts)) / 1000);
  }

  // An object's row as the API's Table has it (the same cells the terminal prints), its age column aged now.
  const cells = (o, ageColumn, ts, count) => (o.cells || []).slice(0, count).map((c, i) => (i === ageColumn ? age(ts) : String(c)));

  const esc = (v) => String(v).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);

  // A kubectl table as one HTML string: 300 rows are one parse, not 2000 createElement calls. A long table
  // scrolls in its own focusable region, so the page stays one screen of panels.
  function table(title, head, rows) {
    const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("");
    const inner = rows.length
      ? `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table>`
      : `<p class="muted">${esc(W.noResources)}</p>`;
    return `<div class="kget" tabindex="0" role="region" aria-label="${esc(title)}"><h3>${esc(title)}</h3>${inner}</div>`;
  }

  const tableHtml = [];
  function renderTables() {
    const inDefault = (o) => o.ns === "default";
    const byName = (a, b) => a.name.localeCompare(b.name);
    const deps = ofKind("Deployment").filter(inDefault).sort(byName);
    const sets = ofKind("ReplicaSet").filter(inDefault).sort(byName);
    const pods = ofKind("Pod").filter(inDefault).sort(byName);
    const svcs = ofKind("Service").filter(inDefault).sort(byName);
    const events = ofKind("Event").filter(inDefault).sort((a, b) => (b.last || "").localeCompare(a.last || "")).slice(0, 12);
    const html = [
      table("kubectl get deployments", ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        deps.map((d) => cells(d, 4, d.created, 5))),
      table("kubectl get replicasets", ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        sets.map((r) => cells(r, 4, r.created, 5))),
      table("kubectl get pods -o wide", ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        pods.map((p) => cells(p, 4, p.created, 9))),
      table("kubectl get services", ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        svcs.map((s) => cells(s, 5, s.created, 6))),
      table("kubectl get events", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        events.map((e) => cells(e, 0, e.last, 5))),
    ];
    // Only the tables whose text changed are replaced (keeping where the reader scrolled them).
    const box = document.getElementById("tables");
    if (box.children.length !== html.length) box.replaceChildren(...html.map(() => el("div")));
    html.forEach((h, i) => {
      if (tableHtml[i] === h) return;
      tableHtml[i] = h;
      const old = box.children[i];
      const scroll = old.scrollTop;
      const wrap = document.createElement("template");
      wrap.innerHTML = h;
      const fresh = wrap.content.firstElementChild;
      old.replaceWith(fresh);
      fresh.scrollTop = scroll;
    });
    const names = document.getElementById("deployment-names");
    names.replaceChildren(...deps.map((d) => Object.assign(el("option"), { value: d.name })));
  }

  // One drawing per animation frame, whatever the number of changes since the last; the heavy panels (rollouts,
  // etcd keys, kubectl tables) at most every HEAVY_MS, so a burst never makes a frame long.
  const HEAVY_MS = 250;
  let frame = 0;
  let lastHeavy = 0;
  let heavyDue = false;
  let heavyTimer = 0;
  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }
  // Each part of a frame is a User Timing measure ("kubeplay:pods" …), to see in the browser's performance tools.
  function timed(name, draw) {
    const start = performance.now();
    draw();
    performance.measure(`kubeplay:${name}`, { start });
  }
  function render() {
    frame = 0;
    followTimeline();
    const any = (...kinds) => kinds.some((x) => dirty.has(x));
    if (any("Node")) timed("nodes", renderNodes);
    if (any("Pod", "Node")) timed("pods", renderPods);
    if (any("Service", "Endpoints")) timed("services", renderServices);
    if (any("Pod", "Node", "Service", "Endpoints")) timed("wires", drawWires);
    if (stepsMoved && followSteps) {
      const list = document.getElementById("steps");
      list.scrollTop = list.scrollHeight;
    }
    stepsMoved = false;
    if (dirty.size) heavyDue = true;
    dirty.clear();
    if (!heavyDue) return;
    const wait = HEAVY_MS - (performance.now() - lastHeavy);
    if (wait > 0) {
      if (!heavyTimer) heavyTimer = setTimeout(() => { heavyTimer = 0; schedule(); }, wait);
      return;
    }
    const start = performance.now();
    timed("rollouts", renderRollouts);
    timed("etcd", renderEtcd);
    timed("tables", renderTables);
    if (revisionsDue) body.dispatchEvent(new CustomEvent("kubeplay:revisions"));
    revisionsDue = false;
    // Heavy panels take at most a fifth of the main thread: a slow pass pushes the next one further away.
    lastHeavy = performance.now() + 4 * Math.max(0, performance.now() - start - HEAVY_MS / 4);
    heavyDue = false;
  }
  setInterval(() => { heavyDue = true; schedule(); }, 5000); // AGE columns move on

  // ---------------------------------------------------------------------------------------------------------
  // The socket

  const live = document.getElementById("live");
  let retry = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/p/${slug}/?lang=${body.dataset.lang}`);
    ws.onopen = () => { retry = 1000; };
    let parts = []; // a message over the server's size limit comes as parts, joined here before it is read
    ws.onmessage = (e) => {
      const start = performance.now();
      let msg = JSON.parse(e.data);
      if (msg.type === "part") {
        parts.push(msg.data);
        if (msg.more) return;
        msg = JSON.parse(parts.join(""));
        parts = [];
      }
      if (msg.type === "lessons") {
        body.dispatchEvent(new CustomEvent("kubeplay:lessons"));
        return;
      }
      if (msg.type === "tempo") {
        // The tempo changed (from any page or the API): every open page of the playground hears it.
        body.dispatchEvent(new CustomEvent("kubeplay:tempo", { detail: { tempo: msg.tempo, paused: msg.paused } }));
        return;
      }
      if (msg.type === "state") {
        queue.length = 0;
        loadState(msg);
        body.dispatchEvent(new CustomEvent("kubeplay:tempo", { detail: { tempo: msg.tempo, paused: msg.paused } }));
        live.textContent = W.live;
        live.classList.add("on");
        return;
      }
      // A change with a step is drawn when its step is told, so the chips move in time with the story; the
      // others wait behind it, so every object still takes its writes in revision order.
      const before = {};
      for (const entry of msg.changes) {
        const c = { type: "MODIFIED", ...entry }; // `type` is left out when it is MODIFIED
        for (const f of CARRIED) {
          if (f in entry) before[f] = entry[f];
          else if (f in before && (f !== "path" || entry.step)) c[f] = before[f];
        }
        if (c.rev <= queuedUpTo) continue;
        queuedUpTo = c.rev;
        if (c.step || queue.length) queue.push(c);
        else applyChange(c);
      }
      schedule();
      drain();
      performance.measure("kubeplay:message", { start });
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
  // Time travel: the playground as it was at an earlier revision, then every change since, replayed

  const timeline = document.getElementById("timeline");
  const range = document.getElementById("timeline-range");
  const rangeAt = document.getElementById("timeline-at");
  const replayTempo = document.getElementById("replay-tempo");
  let scrubbing = false;

  function followTimeline() {
    if (scrubbing) return;
    range.max = String(revision);
    if (!replaying) {
      range.value = String(revision);
      rangeAt.textContent = W.live;
    }
  }

  async function startReplay(at) {
    const response = await fetch(`${timeline.dataset.url}?at=${at}`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const past = await response.json();
    // What the live feed queued meanwhile and the replay does not have yet stays, after it.
    const later = queue.filter((c) => c.rev > past.latest);
    queue.length = 0;
    loadState({ objects: past.objects, revision: past.revision, changes: [] });
    range.min = String(past.first);
    const note = el("li", "replay-note", W.replayFrom.replace("%s", past.revision));
    document.getElementById("steps").append(note);
    const before = {};
    for (const entry of past.changes) queue.push({ ...before, ...entry });
    queue.push(...later);
    queuedUpTo = Math.max(past.latest, ...later.map((c) => c.rev));
    replaying = { from: past.revision, tempo: replayTempo.value };
    record.replays.push({ at: past.revision, pods: ofKind("Pod").map((p) => p.name), changes: past.changes.length,
      mark: record.animated.length });
    rangeAt.textContent = W.replaying.replace("%s", past.revision);
    timeline.classList.add("replaying");
    drain();
  }

  function endReplay() {
    replaying = null;
    timeline.classList.remove("replaying");
    followTimeline();
  }

  range.addEventListener("input", () => {
    scrubbing = true;
    rangeAt.textContent = W.revisionAt.replace("%s", range.value);
  });
  range.addEventListener("change", () => {
    scrubbing = false;
    startReplay(Number(range.value));
  });
  replayTempo.addEventListener("change", () => {
    if (replaying) replaying.tempo = replayTempo.value;
  });
  // Back to live: what is left of the replay is told at once.
  document.getElementById("timeline-live").addEventListener("click", () => {
    if (replaying) replaying.tempo = "instant";
  });

  // ---------------------------------------------------------------------------------------------------------
  // Controls

  document.getElementById("show-system").addEventListener("change", (e) => {
    showSystem = e.target.checked;
    dirty.add("Pod");
    schedule();
  });

  // "Why?" for a pod, a ReplicaSet or a Service: every one is a button, so Enter opens it too; from the keyboard
  // (a click with detail 0) the focus follows to the panel.
  document.addEventListener("click", (e) => {
    const target = e.target.closest("[data-why]");
    if (!target) return;
    const [kind, ns, name] = target.dataset.why.split("/");
    const request = window.htmx.ajax("GET", `${body.dataset.whyUrl}${kind}/${ns}/${name}`, { target: "#why" });
    if (e.detail === 0) request.then(() => document.getElementById("why").focus());
  });

  // A node's pods are one tab stop; the arrow keys, Home and End move between them (roving tabindex).
  document.addEventListener("keydown", (e) => {
    const chip = e.target.closest?.("[data-pods] .chip");
    if (!chip) return;
    const chips = [...chip.closest("[data-pods]").querySelectorAll(".chip")];
    const i = chips.indexOf(chip);
    const next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0,
      End: chips.length - 1 }[e.key];
    if (next === undefined || !chips[next]) return;
    e.preventDefault();
    chip.tabIndex = -1;
    chips[next].tabIndex = 0;
    chips[next].focus();
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
      document.getElementById("rollback-name").dispatchEvent(new Event("change"));
    }
  });

  // The terminal: clear the line after each command, keep a history on the arrow keys.
  const termForm = document.getElementById("terminal-form"); // none on a read-only page
  const termLine = document.getElementById("terminal-line");
  const termOut = document.getElementById("terminal-output");
  const history = [];
  let back = 0;
  termForm?.addEventListener("htmx:afterRequest", () => {
    if (termLine.value.trim()) history.push(termLine.value);
    back = history.length;
    termLine.value = "";
    termOut.scrollTop = termOut.scrollHeight;
  });
  termLine?.addEventListener("keydown", (e) => {
    if (e.key === "ArrowUp" && back > 0) termLine.value = history[--back];
    else if (e.key === "ArrowDown" && back < history.length) termLine.value = history[++back] || "";
    else return;
    e.preventDefault();
  });

  window.addEventListener("resize", () => drawWires());
})();

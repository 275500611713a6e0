// A student's page in a class: the class socket says where the room is (the student's own playground, or the
// cluster everyone follows, read-only), whether screens are blank and which step the instructor pushed; this
// script goes there. The state comes whole on every message, so a reload or a reconnect lands where the room is.
(() => {
  "use strict";

  const bar = document.getElementById("class-bar");
  if (!bar) return;
  const key = bar.dataset.key;
  const blank = document.getElementById("class-blank");
  let pushed = "";
  let delay = 500;

  function showStep(step) {
    const li = document.getElementById(`lesson-step-${step}`);
    if (!li) return;
    document.querySelectorAll(".lesson-step.pushed").forEach((x) => x.classList.remove("pushed"));
    li.classList.add("pushed");
    const details = li.querySelector("details");
    if (details) details.open = true;
    li.scrollIntoView({ block: "nearest" });
  }

  function apply(state) {
    if (state.where && state.where !== location.pathname) {
      location.replace(state.where);
      return;
    }
    document.body.classList.toggle("following", state.following);
    document.getElementById("class-following").hidden = !state.following || state.spotlight;
    document.getElementById("class-spotlight").hidden = !state.following || !state.spotlight;
    document.getElementById("class-ended").hidden = !state.ended;
    blank.hidden = !state.blank;
    document.body.classList.toggle("blanked", state.blank);
    if (state.step && state.step !== pushed) {
      pushed = state.step;
      showStep(pushed);
    }
  }

  // The lesson panel is swapped in again when the lesson moves: keep the pushed step shown.
  document.body.addEventListener("htmx:afterSwap", () => { if (pushed) showStep(pushed); });

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/class/student/${key}/?lang=${document.body.dataset.lang || ""}`);
    ws.onopen = () => { delay = 500; bar.classList.add("on"); };
    ws.onmessage = (e) => apply(JSON.parse(e.data));
    ws.onclose = (e) => {
      bar.classList.remove("on");
      if (e.code === 4403 || e.code === 4404) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
  }
  connect();
})();

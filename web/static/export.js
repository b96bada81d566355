// An export's status page: the job's "job.progress" events arrive on the user's own channel
// and move the progress bar; when it is done, the download link appears. On (re)connect or
// a gap, the state is read over HTTP, so a page opened late or offline for a while is right.
(function () {
  "use strict";
  const section = document.getElementById("export");
  if (!section) return;
  const jobId = section.dataset.jobId;
  const state = document.getElementById("export-state");
  const message = document.getElementById("export-message");
  const progress = document.getElementById("export-progress");
  const download = document.getElementById("download");

  function show(job, status) {
    if (job) {
      if (job.total) progress.max = job.total;
      if (job.current !== null && job.current !== undefined) progress.value = job.current;
      message.textContent = job.message || "";
    }
    const done = status === "done" || (job && job.state === "done");
    state.textContent = done ? "done" : status || (job && job.state) || state.textContent;
    download.hidden = !done;
  }

  async function refresh() {
    const status = await ErlenPage.getJSON(section.dataset.statusUrl);
    if (status) show(status.job, status.status);
  }

  const realtime = ErlenRealtime.connect(section.dataset.realtimeUrl, {});
  realtime.subscribe(section.dataset.channel, {
    onEvent(event, data) {
      if (event === "job.progress" && data && data.id === jobId) show(data, null);
    },
    onCatchUp: refresh,
  });
  section.realtime = realtime;
  refresh();

  // Events are at most once (a replica restarting, a subscription still being set up): while
  // the export is unfinished, its state is also read every 5 s, so a lost "done" can't leave
  // the page waiting.
  const FINAL = new Set(["done", "failed", "cancelled"]);
  const poll = setInterval(function () {
    if (FINAL.has(state.textContent)) clearInterval(poll);
    else refresh();
  }, 5000);
})();

// The import's progress page: asks the server every two seconds how far the job is and updates the bar and
// the sentence (read out by screen readers: aria-live); when the job has ended, loads the page again to show
// its result. Without scripts the page refreshes itself while the job runs.
document.addEventListener('DOMContentLoaded', () => {
  const box = document.getElementById('import-job');
  if (!box || box.dataset.running !== '1') return;
  const bar = document.getElementById('import-job-bar');
  const text = document.getElementById('import-job-text');
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, {headers: {Accept: 'application/json'}});
      if (!response.ok) throw new Error(String(response.status));
      const job = await response.json();
      if (job.state !== 'queued' && job.state !== 'running') { window.location.reload(); return; }
      if (job.progress.percent === null) bar.removeAttribute('value');
      else bar.value = job.progress.percent;
      if (text.textContent !== job.text) text.textContent = job.text;
    } catch (error) {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 1000);
});

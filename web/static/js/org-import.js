// The import page: the upload shows its progress (bytes sent), then that the server is checking the file;
// applying shows that the server is working. Without scripts the forms post as usual.
document.addEventListener('DOMContentLoaded', () => {
  const box = document.getElementById('import-progress');
  const bar = document.getElementById('import-bar');
  const label = document.getElementById('import-label');
  if (!box) return;

  function working() {
    box.hidden = false;
    bar.removeAttribute('value');  // indeterminate: the server reports no figure while it works
    label.textContent = label.dataset.working;
  }

  const upload = document.getElementById('import-form');
  if (upload) {
    upload.addEventListener('submit', event => {
      event.preventDefault();
      const request = new XMLHttpRequest();
      request.open('POST', upload.action);
      request.setRequestHeader('Accept', 'application/json');
      request.upload.addEventListener('progress', progress => {
        if (!progress.lengthComputable) return;
        const percent = Math.round(100 * progress.loaded / progress.total);
        box.hidden = false;
        bar.value = percent;
        label.textContent = `${label.dataset.uploading} ${percent}%`;
      });
      request.upload.addEventListener('load', working);
      request.addEventListener('load', () => {
        let target = null;
        try { target = JSON.parse(request.responseText).preview; } catch (error) { target = null; }
        if (request.status === 200 && target) window.location.assign(target);
        else { box.hidden = true; HTMLFormElement.prototype.submit.call(upload); }  // let the page say why
      });
      request.addEventListener('error', () => { box.hidden = true; HTMLFormElement.prototype.submit.call(upload); });
      box.hidden = false;
      bar.value = 0;
      request.send(new FormData(upload));
    });
  }
  for (const form of document.querySelectorAll('form.busy-on-submit')) {
    form.addEventListener('submit', () => {
      working();
      for (const button of form.querySelectorAll('button')) button.disabled = true;
    });
  }
});

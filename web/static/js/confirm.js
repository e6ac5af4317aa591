// A form with data-confirm="question" asks before it is sent (in place of an inline onsubmit, which the
// Content-Security-Policy blocks).
document.addEventListener('submit', event => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Inbox keyboard shortcuts (listed on the page): j/k move, x selects, o opens, a/r choose the bulk decision,
// / goes to the search box. Keys typed into a form field are left alone, as are keys with Ctrl, Alt or Meta.
(function () {
  function typing(target) {
    if (!target.closest) return false;
    const field = target.closest('input, textarea, select, [contenteditable]');
    return field !== null && !(field.matches('input[type=checkbox], input[type=radio]'));
  }

  document.addEventListener('DOMContentLoaded', () => {
    const rows = Array.from(document.querySelectorAll('#inbox-table tr.inbox-row'));
    let index = -1;

    function move(to) {
      if (!rows.length) return;
      index = Math.max(0, Math.min(rows.length - 1, to));
      rows.forEach((row, n) => row.classList.toggle('current', n === index));
      rows[index].querySelector('a.task-link').focus();
    }

    function chooseDecision(value, focusSelector) {
      const form = document.getElementById('bulk');
      if (!form) return;
      form.querySelector(`input[name=decision][value=${value}]`).checked = true;
      form.querySelector(focusSelector).focus();
    }

    // A row's link or checkbox taking focus (by Tab or a click) makes that row the current one.
    rows.forEach((row, n) => row.addEventListener('focusin', () => {
      index = n;
      rows.forEach((other, m) => other.classList.toggle('current', m === n));
    }));

    document.addEventListener('keydown', event => {
      if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
      const row = rows[index];
      switch (event.key) {
        case 'j': move(index + 1); break;
        case 'k': move(index - 1); break;
        case 'x': {
          const box = row && row.querySelector('input[type=checkbox]');
          if (!box) return;
          box.checked = !box.checked;
          break;
        }
        case 'o': if (!row) return; row.querySelector('a.task-link').click(); break;
        case 'a': chooseDecision('approve', 'button[type=submit]'); break;
        case 'r': chooseDecision('reject', 'textarea'); break;
        case '/': document.getElementById('q').focus(); break;
        default: return;
      }
      event.preventDefault();
    });
  });
})();

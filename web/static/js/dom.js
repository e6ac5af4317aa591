// Build page elements from data without ever parsing it as HTML: names, ids and messages from diagrams, people
// and the server become attribute values and text nodes, so a quote or an angle bracket in them stays a character.
(function () {
  // el('div', { class: 'note', 'data-step': id }, [name, el('br'), since]): strings become text nodes.
  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    });
    (children || []).forEach(child => node.append(child instanceof Node ? child : String(child ?? '')));
    return node;
  }

  window.WebirDom = { el };
})();

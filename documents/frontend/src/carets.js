/**
 * The others' carets drawn over a <textarea>: a mirror <div> (aria-hidden, pointer-events: none)
 * laid exactly over the textarea's content box, holding the same text in transparent ink, with a
 * coloured zero-width mark (and the person's name) at each remote caret. Same font, padding and
 * wrapping as the textarea (editor.html's CSS), the same size (set here) and the same scroll.
 */
export function caretLayer(textarea) {
  const layer = document.createElement("div");
  layer.className = "carets";
  layer.setAttribute("aria-hidden", "true");
  textarea.after(layer);

  let last = { value: "", carets: [] };
  const place = () => {
    layer.style.top = `${textarea.offsetTop + textarea.clientTop}px`;
    layer.style.left = `${textarea.offsetLeft + textarea.clientLeft}px`;
    layer.style.width = `${textarea.clientWidth}px`;
    layer.style.height = `${textarea.clientHeight}px`;
    layer.scrollTop = textarea.scrollTop;
    layer.scrollLeft = textarea.scrollLeft;
  };

  /** carets: [{clientId, index, name, color}] */
  const draw = (value = last.value, carets = last.carets) => {
    last = { value, carets };
    const nodes = [];
    let at = 0;
    for (const caret of [...carets].sort((a, b) => a.index - b.index)) {
      const index = Math.max(0, Math.min(caret.index, value.length));
      nodes.push(document.createTextNode(value.slice(at, index)));
      const mark = document.createElement("span");
      mark.className = "caret";
      mark.dataset.clientId = String(caret.clientId);
      mark.style.borderColor = caret.color;
      const label = document.createElement("span");
      label.className = "caret-name";
      label.style.background = caret.color;
      label.textContent = caret.name;
      mark.append(label);
      nodes.push(mark);
      at = index;
    }
    nodes.push(document.createTextNode(`${value.slice(at)}\u200b`)); // a trailing newline keeps its line
    layer.replaceChildren(...nodes);
    place();
  };

  textarea.addEventListener("scroll", place);
  new ResizeObserver(place).observe(textarea);
  return draw;
}

/**
 * A two-way binding between a <textarea> and a Y.Text.
 *
 * - A local edit becomes the smallest delete + insert that turns the Y.Text's string into the
 *   textarea's value (common prefix and suffix; the suffix never reaches before the caret, so
 *   typing "a" into "aa" inserts where the caret is), in one transaction whose origin is the
 *   binding.
 * - A remote change replaces the value and moves the caret and selection through the change's
 *   delta: text inserted or deleted before them shifts them, text after them does not.
 * Indexes are UTF-16 code units on both sides (a Y.Text's and a textarea's); a cut never splits a
 * surrogate pair.
 */

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;

/** [index, deleted count, inserted string] turning `prev` into `next`; `caret` is in `next`. */
export function diff(prev, next, caret = next.length) {
  let end = 0;
  const maxEnd = Math.min(prev.length, next.length, next.length - caret);
  while (end < maxEnd && prev.charCodeAt(prev.length - 1 - end) === next.charCodeAt(next.length - 1 - end)) end++;
  let start = 0;
  const maxStart = Math.min(prev.length, next.length) - end;
  while (start < maxStart && prev.charCodeAt(start) === next.charCodeAt(start)) start++;
  if (start > 0 && isHigh(prev.charCodeAt(start - 1))) start--;
  if (end > 0 && isLow(prev.charCodeAt(prev.length - end))) end--;
  return [start, prev.length - start - end, next.slice(start, next.length - end)];
}

/** A position in the old text, moved through a Yjs text delta (its ops walk the old text). */
export function shift(position, delta) {
  let old = 0; // how far into the old text the delta has got
  let moved = position;
  for (const op of delta) {
    if (old >= position) break; // nothing from here on is before the position
    if (op.retain) old += op.retain;
    else if (op.insert) moved += typeof op.insert === "string" ? op.insert.length : 1;
    else if (op.delete) {
      moved -= Math.min(op.delete, position - old);
      old += op.delete;
    }
  }
  return moved;
}

export function bindTextarea(ytext, textarea) {
  const origin = { binding: "textarea" };
  textarea.value = ytext.toString();

  const onInput = () => {
    const prev = ytext.toString();
    const next = textarea.value;
    if (prev === next) return;
    const [index, deleted, inserted] = diff(prev, next, textarea.selectionEnd);
    ytext.doc.transact(() => {
      if (deleted) ytext.delete(index, deleted);
      if (inserted) ytext.insert(index, inserted);
    }, origin);
  };

  const onChange = (event, transaction) => {
    if (transaction.origin === origin) return;
    const focused = document.activeElement === textarea;
    const start = shift(textarea.selectionStart, event.delta);
    const end = shift(textarea.selectionEnd, event.delta);
    const direction = textarea.selectionDirection;
    textarea.value = ytext.toString();
    if (focused) textarea.setSelectionRange(start, end, direction);
  };

  textarea.addEventListener("input", onInput);
  ytext.observe(onChange);
  return () => {
    textarea.removeEventListener("input", onInput);
    ytext.unobserve(onChange);
  };
}

// A line diff of two texts (longest common subsequence), for the plan's text view.

const MAX_CELLS = 4_000_000;

// [{op: ' ' | '-' | '+', line}], or null when the texts are too large to compare here.
export function lineDiff(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  // Common head and tail first: an edit usually touches a few lines of a long file.
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  if ((xs.length + 1) * (ys.length + 1) > MAX_CELLS) return null;
  const w = ys.length + 1;
  const lcs = new Uint32Array((xs.length + 1) * w);
  for (let i = xs.length - 1; i >= 0; i--) {
    for (let j = ys.length - 1; j >= 0; j--) {
      lcs[i * w + j] = xs[i] === ys[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = x.slice(0, head).map((line) => ({ op: ' ', line }));
  let i = 0;
  let j = 0;
  while (i < xs.length || j < ys.length) {
    if (i < xs.length && j < ys.length && xs[i] === ys[j]) {
      out.push({ op: ' ', line: xs[i] });
      i++;
      j++;
    } else if (j < ys.length && (i === xs.length || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
      out.push({ op: '+', line: ys[j++] });
    } else {
      out.push({ op: '-', line: xs[i++] });
    }
  }
  return out.concat(x.slice(x.length - tail).map((line) => ({ op: ' ', line })));
}

// Only the changed lines with `context` lines around them; '…' marks what is left out.
export function hunks(diff, context = 3) {
  const keep = diff.map(() => false);
  diff.forEach((d, i) => {
    if (d.op !== ' ') for (let k = Math.max(0, i - context); k <= Math.min(diff.length - 1, i + context); k++) keep[k] = true;
  });
  const out = [];
  let skipped = false;
  diff.forEach((d, i) => {
    if (keep[i]) {
      out.push(d);
      skipped = false;
    } else if (!skipped) {
      out.push({ op: '…', line: '' });
      skipped = true;
    }
  });
  return out;
}

// Reference vs window distribution of one drifted feature (from GET /v1/runs/{id}/distributions):
// histogram bins on the reference's edges, or category counts, as shares side by side.

interface Side { edges?: number[]; categories?: string[]; counts: number[]; other?: number; missing?: number }
export interface Dist { type: string; reference: Side; window: Side }

function shares(counts: number[], extra = 0): number[] {
  const total = counts.reduce((a, b) => a + b, 0) + extra;
  return counts.map((c) => (total ? c / total : 0));
}

/** Bin labels and the reference's and window's shares per bin (window "other" categories as one bin). */
export function bins(dist: Dist): { labels: string[]; reference: number[]; window: number[] } {
  if (dist.type === "numeric") {
    const edges = dist.reference.edges ?? [];
    const labels = dist.reference.counts.map((_, i) => `${edges[i]?.toPrecision(3)}–${edges[i + 1]?.toPrecision(3)}`);
    return { labels, reference: shares(dist.reference.counts), window: shares(dist.window.counts) };
  }
  const labels = [...(dist.reference.categories ?? [])];
  const window = [...dist.window.counts];
  const reference = [...dist.reference.counts];
  if (dist.window.other) { labels.push("(unseen)"); window.push(dist.window.other); reference.push(0); }
  return { labels, reference: shares(reference), window: shares(window) };
}

export function Distribution({ column, dist }: { column: string; dist: Dist }) {
  const { labels, reference, window } = bins(dist);
  const top = Math.max(...reference, ...window, 0.0001);
  const moved = labels.map((l, i) => [l, window[i] - reference[i]] as const)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))[0];
  const summary = moved ? `largest change: ${moved[0]} ${moved[1] > 0 ? "+" : ""}${(moved[1] * 100).toFixed(1)} points` : "";
  return (
    <figure className="dist" data-column={column}>
      <figcaption>{column}: reference vs window <span className="muted small">{summary}</span></figcaption>
      <div className="bars" role="img" aria-label={`${column}: reference and window share per ${dist.type === "numeric" ? "bin" : "category"}; ${summary}`}>
        {labels.map((l, i) => (
          <div key={i} className="bin" title={`${l}: reference ${(reference[i] * 100).toFixed(1)}%, window ${(window[i] * 100).toFixed(1)}%`}>
            <span className="ref" style={{ height: `${(reference[i] / top) * 100}%` }} />
            <span className="win" style={{ height: `${(window[i] / top) * 100}%` }} />
          </div>
        ))}
      </div>
      <p className="small muted"><span className="key ref" /> reference <span className="key win" /> window</p>
    </figure>
  );
}

export function Badge({ word, title }: { word: string; title?: string }) {
  return <span className={`badge b-${word.replace(/[^a-z_]/g, "")}`} title={title}>{word.replace(/_/g, " ")}</span>;
}

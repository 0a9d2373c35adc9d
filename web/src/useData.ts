import { useCallback, useEffect, useState } from "react";

import { getJson } from "./api";
import { useLive, type LiveEvent } from "./live";

export interface Loaded<T> { data: T | null; error: string | null; reload: () => void }

/** GET ``path``, again whenever a relevant live event arrives; the last good data stays shown meanwhile. */
export function useData<T>(path: string, relevant?: (e: LiveEvent) => boolean): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    if (!path) return; // nothing to read yet (a path that depends on other data)
    getJson<T>(path).then((d) => { setData(d); setError(null); }, (e: Error) => setError(e.message));
  }, [path]);
  useEffect(() => { setData(null); reload(); }, [reload]);
  useLive(reload, relevant);
  return { data, error, reload };
}

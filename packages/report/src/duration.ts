/** Seconds as `42.1s`, `2m05s` or `1h02m` (`?` when not a duration). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 59.95) return `${seconds.toFixed(1)}s`; // 59.95 would print as 60.0s
  const s = Math.round(seconds); // round once, so 119.6 s is 2m00s, not 1m60s
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

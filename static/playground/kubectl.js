// kubectl's age: k8s.io/apimachinery/pkg/util/duration.HumanDuration, as the terminal and the API's Tables print it
// (cluster_core/api/tables.py `human_duration`): "45s", "3m20s", "90m", "7h5m", "10h", "3d4h", "12d", "2y30d".
window.kubectlAge = function kubectlAge(seconds) {
  const whole = Math.trunc(seconds);
  if (whole < -1) return "<invalid>";
  if (whole < 0) return "0s";
  if (whole < 120) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 10) return whole % 60 ? `${minutes}m${whole % 60}s` : `${minutes}m`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(whole / 3600);
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 ? `${days}d${hours % 24}h` : `${days}d`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 ? `${years}y${days % 365}d` : `${years}y`;
  return `${years}y`;
};

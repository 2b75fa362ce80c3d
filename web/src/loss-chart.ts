/** The training loss, step by step, as a line on a canvas (redrawn whole after each step). */
export function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const ctx = canvas.getContext("2d")!;
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#555";
  ctx.font = "12px system-ui, sans-serif";
  if (losses.length === 0) return;
  const hi = Math.max(...losses);
  const pad = 24;
  const x = (i: number) => pad + ((width - 2 * pad) * i) / Math.max(1, losses.length - 1);
  const y = (v: number) => height - pad - ((height - 2 * pad) * v) / (hi || 1);
  ctx.fillText(`loss (max ${hi.toFixed(3)}, last ${losses[losses.length - 1].toFixed(3)})`, pad, 14);
  ctx.fillText(`step ${losses.length}`, width - pad - 50, height - 6);
  ctx.strokeStyle = "#4a7bd0";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x(0), y(losses[0]));
  for (let i = 1; i < losses.length; i++) ctx.lineTo(x(i), y(losses[i]));
  ctx.stroke();
}

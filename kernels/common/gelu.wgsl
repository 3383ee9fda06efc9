// GPT-2's GELU (`gelu_new`, tanh approximation), written through the logistic function:
// 0.5·(1 + tanh(u)) = sigmoid(2u), which avoids cancellation for negative x.
// The argument is clamped so that everything stays finite for any finite x.
const GELU_K0: f32 = 0.7978845608028654; // sqrt(2/pi)
const GELU_K1: f32 = 0.044715;

fn gelu_f(v: f32) -> f32 {
  if (v < -10.0) { return 0.0; }
  if (v > 10.0) { return v; }
  let u = GELU_K0 * (v + GELU_K1 * v * v * v);
  return v / (1.0 + exp(-2.0 * u));
}

// d gelu(v) / dv
fn gelu_grad(v: f32) -> f32 {
  if (v < -10.0) { return 0.0; }
  if (v > 10.0) { return 1.0; }
  let u = GELU_K0 * (v + GELU_K1 * v * v * v);
  let s = 1.0 / (1.0 + exp(-2.0 * u));
  return s + v * 2.0 * s * (1.0 - s) * GELU_K0 * (1.0 + 3.0 * GELU_K1 * v * v);
}

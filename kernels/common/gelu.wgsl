// GPT-2's GELU (`gelu_new`, tanh approximation), written through the logistic function:
// 0.5·(1 + tanh(u)) = sigmoid(2u), which avoids cancellation for negative x.
// Branch-free (selects, where lavapipe ran the branches per component of a vec4 15-20% slower):
// exp's argument is clamped (|2u| ≤ 80) and the derivative's polynomial takes x clamped to ±10,
// so everything stays finite for any finite x; below -10 GELU and its derivative are 0, above 10
// the derivative is 1, as before.
const GELU_K0: f32 = 0.7978845608028654; // sqrt(2/pi)
const GELU_K1: f32 = 0.044715;

fn gelu_f(v: f32) -> f32 {
  let u = GELU_K0 * (v + GELU_K1 * v * v * v);
  return select(v / (1.0 + exp(clamp(-2.0 * u, -80.0, 80.0))), 0.0, v < -10.0);
}

// d gelu(v) / dv
fn gelu_grad(v: f32) -> f32 {
  let c = clamp(v, -10.0, 10.0);
  let u = GELU_K0 * (c + GELU_K1 * c * c * c);
  let s = 1.0 / (1.0 + exp(-2.0 * u));
  let d = s + c * 2.0 * s * (1.0 - s) * GELU_K0 * (1.0 + 3.0 * GELU_K1 * c * c);
  return select(select(d, 1.0, v > 10.0), 0.0, v < -10.0);
}

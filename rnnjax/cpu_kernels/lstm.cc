// Fused CPU LSTM recurrence for XLA's FFI: the whole sequence forward and backward of the
// LSTM contract in docs/CONTRACTS.md ("The LSTM recurrence (array level)").
//
//   pre_t = gates_x[:, t] + h_{t-1} W_h          (gates_x = x_t W_x + b, hoisted by the caller)
//   i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the gate-major blocks of pre_t
//   c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)   (Hochreiter & Schmidhuber 1997; forget gate:
//                                                  Gers et al. 2000)
//
// Per step one BLAS product [rows, H] x [H, 4H] (OpenBLAS of the scipy-openblas32 wheel, one
// BLAS thread) followed by the fused pointwise gate math. The batch rows are split over the
// CPU cores: each core runs its rows through all T steps with no synchronisation.
//
// Backward (reverse loop over steps, again over row slices): with dh_t = dh + d hs_t,
//   dc_t += dh_t o (1 - tanh^2 c_t)
//   d pre = (dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh_t tanh(c_t) o(1-o))
//   dc_{t-1} = dc f,  dh_{t-1} = d pre W_h^T
// and after the loop dW_h = sum_{b,t} h_{t-1}^T d pre_t as BLAS products over all B*T rows
// (one per head and gate block, split over the cores). Steps t >= len_b freeze the carry,
// write hs = 0 and pass gradients through unchanged.
//
// Dtypes: gates_x, w_h, hs, d gates_x, dW_h are float32 or bfloat16; carries, saved
// activations and every accumulation are float32. With bfloat16, the operands of the products
// (h_{t-1}, d pre) are rounded to bfloat16 as in the pure-JAX path.

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "cblas.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// ------------------------------------------------------------------------ element types

using bf16_bits = uint16_t;

inline float to_f32(float x) { return x; }

inline float to_f32(bf16_bits x) {
  uint32_t bits = static_cast<uint32_t>(x) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

template <typename T>
inline T from_f32(float x);

template <>
inline float from_f32<float>(float x) {
  return x;
}

// Round to nearest even (NaN stays NaN).
template <>
inline bf16_bits from_f32<bf16_bits>(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_bits>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<bf16_bits>(bits >> 16);
}

// x as the product operand of dtype T sees it (float32: x itself; bfloat16: rounded).
template <typename T>
inline float operand(float x) {
  return to_f32(from_f32<T>(x));
}

// ------------------------------------------------------------------------ pointwise math

// exp(x) by Cody-Waite range reduction and Cephes' degree-6 polynomial (~1 ulp); branch-free so
// that the loops below vectorise. Inputs are clamped to [-87, 88].
inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float shifted = x * 1.44269504088896341f + shifter;
  float n = shifted - shifter;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  int32_t scale_bits = (bits - 0x4B400000 + 127) << 23;
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof(scale));
  return y * scale;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

inline float tanh_approx(float x) { return 1.0f - 2.0f / (exp_approx(2.0f * x) + 1.0f); }

// n units of one row of the cell: pre -> acts = (i, f, g, o), gate k of unit j at
// [k * pre_gate + j] and [k * acts_gate + j] (the gate-major blocks of a [4H] row, or of a
// slice of its units); c [n] and h [n] are updated in place.
#define RNNJAX_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))

RNNJAX_VECTOR_CLONES
void cell_forward_row(const float* __restrict pre, int64_t pre_gate, float* __restrict acts,
                      int64_t acts_gate, float* __restrict c, float* __restrict h, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    float i = sigmoid(pre[j]);
    float f = sigmoid(pre[pre_gate + j]);
    float g = tanh_approx(pre[2 * pre_gate + j]);
    float o = sigmoid(pre[3 * pre_gate + j]);
    float c_new = f * c[j] + i * g;
    acts[j] = i;
    acts[acts_gate + j] = f;
    acts[2 * acts_gate + j] = g;
    acts[3 * acts_gate + j] = o;
    c[j] = c_new;
    h[j] = o * tanh_approx(c_new);
  }
}

// n units of one row of the backward step (gate blocks `gate` apart in acts and d_pre): dh [n]
// is dh_t (d hs_t already added); dc [n] is updated to dc_{t-1}; d_pre is written.
RNNJAX_VECTOR_CLONES
void cell_backward_row(const float* __restrict acts, const float* __restrict c,
                       const float* __restrict c_prev, const float* __restrict dh,
                       float* __restrict dc, float* __restrict d_pre, int64_t gate, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    float i = acts[j], f = acts[gate + j], g = acts[2 * gate + j];
    float o = acts[3 * gate + j];
    float tanh_c = tanh_approx(c[j]);
    float d_c = dc[j] + dh[j] * o * (1.0f - tanh_c * tanh_c);
    d_pre[j] = d_c * g * i * (1.0f - i);
    d_pre[gate + j] = d_c * c_prev[j] * f * (1.0f - f);
    d_pre[2 * gate + j] = d_c * i * (1.0f - g * g);
    d_pre[3 * gate + j] = dh[j] * tanh_c * o * (1.0f - o);
    dc[j] = d_c * f;
  }
}

// ------------------------------------------------------------------------ products

// One direction of a call: [B, T] steps of K heads of D units; `reverse` reads each row's steps
// backwards within its length.
struct Sizes {
  int64_t batch, time, heads, head;
  bool reverse;
  int64_t hidden() const { return heads * head; }
  int64_t gates() const { return 4 * heads * head; }
};

// Flat index b*T + t of row b's `step`-th step: t = step, or with s.reverse the steps before
// the row's length backwards, t = len_b - 1 - step (padding keeps its place), so that a reversed
// direction reads and writes its inputs and outputs in input order.
inline int64_t step_index(const Sizes& s, const int32_t* len, int64_t b, int64_t step) {
  const int64_t t = s.reverse && step < len[b] ? len[b] - 1 - step : step;
  return b * s.time + t;
}

void gemm(CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int64_t m, int64_t n, int64_t k,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

// out[rows, 4H] (row stride ld_out) += h[rows, H] (row stride ld_h) W, W block-diagonal over
// heads: out[:, g*H + k*D + m] += sum_j h[:, k*D + j] W[k, j, g*D + m].
void recurrent_product(const Sizes& s, int64_t rows, const float* h, int64_t ld_h,
                       const float* w, float* out, int64_t ld_out) {
  const int64_t d = s.head, w_cols = 4 * d;
  if (s.heads == 1) {
    gemm(CblasNoTrans, CblasNoTrans, rows, w_cols, d, h, ld_h, w, w_cols, 1.0f, out, ld_out);
    return;
  }
  for (int64_t k = 0; k < s.heads; ++k)
    for (int64_t g = 0; g < 4; ++g)
      gemm(CblasNoTrans, CblasNoTrans, rows, d, d, h + k * d, ld_h, w + k * d * w_cols + g * d,
           w_cols, 1.0f, out + g * s.hidden() + k * d, ld_out);
}

// out[rows, H] = d_pre[rows, 4H] (row stride ld_d) W^T, the transpose of recurrent_product.
void recurrent_product_transposed(const Sizes& s, int64_t rows, const float* d_pre, int64_t ld_d,
                                  const float* w, float* out) {
  const int64_t d = s.head, w_cols = 4 * d, hidden = s.hidden();
  if (s.heads == 1) {
    gemm(CblasNoTrans, CblasTrans, rows, d, w_cols, d_pre, ld_d, w, w_cols, 0.0f, out, hidden);
    return;
  }
  for (int64_t k = 0; k < s.heads; ++k)
    for (int64_t g = 0; g < 4; ++g)
      gemm(CblasNoTrans, CblasTrans, rows, d, d, d_pre + g * hidden + k * d, ld_d,
           w + k * d * w_cols + g * d, w_cols, g ? 1.0f : 0.0f, out + k * d, hidden);
}

// ------------------------------------------------------------------------ threads

int worker_count() {
  if (const char* env = std::getenv("RNNJAX_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// Runs body(part, parts) for part = 0..parts-1, one part per core (part 0 on this thread).
template <typename Body>
void parallel_parts(int64_t parts, Body body) {
  std::vector<std::thread> threads;
  for (int64_t part = 1; part < parts; ++part) threads.emplace_back(body, part, parts);
  body(int64_t{0}, parts);
  for (auto& thread : threads) thread.join();
}

// [begin, end) of part p of n items split into `parts` nearly equal slices.
inline int64_t slice_start(int64_t n, int64_t part, int64_t parts) { return n * part / parts; }

// A reusable barrier for the threads of one call: spins (the step it waits for takes tens of
// microseconds), then yields the core, so that a descheduled thread on a busy machine is not
// kept from finishing its step.
class SpinBarrier {
 public:
  explicit SpinBarrier(int64_t parts) : parts_(parts) {}

  void wait() {
    const int64_t phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == parts_ - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      phase_.fetch_add(1, std::memory_order_release);
      return;
    }
    for (int spin = 0; phase_.load(std::memory_order_acquire) == phase; ++spin)
      if (spin > kSpins) std::this_thread::yield();
  }

 private:
  static constexpr int kSpins = 2000;
  const int64_t parts_;
  std::atomic<int64_t> arrived_{0};
  std::atomic<int64_t> phase_{0};
};

// How the threads of a call share the work of every step.
//   rows:    each thread runs its batch rows through all steps, no synchronisation; every thread
//            streams all of W_h each step.
//   columns: each thread owns a slice of the hidden units (their four gate columns of W_h, and
//            the rows of W_h^T's product) for all batch rows; one barrier per step makes h_t
//            (backward: d pre_t) complete before the next product. Less W_h traffic per
//            thread and wider products; single-head W_h only.
enum class Split { kRows, kColumns };

// Units per thread below which the per-step barrier costs more than the column split saves.
constexpr int64_t kMinColumnsPerThread = 64;

// RNNJAX_CPU_SPLIT=rows|columns overrides the choice (columns needs num_heads = 1).
Split choose_split(const Sizes& s, int64_t threads) {
  if (s.heads != 1 || threads < 2) return Split::kRows;
  if (const char* env = std::getenv("RNNJAX_CPU_SPLIT")) {
    if (std::strcmp(env, "rows") == 0) return Split::kRows;
    if (std::strcmp(env, "columns") == 0) return Split::kColumns;
  }
  return s.hidden() >= kMinColumnsPerThread * threads ? Split::kColumns : Split::kRows;
}

void single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { scipy_openblas_set_num_threads(1); });
}

// Runs one call's work on the cores. One direction split by hidden units (choose_split):
// columns(args, j0, j1, scratch, barrier) per thread, sharing `scratch_size` floats and a
// barrier. Otherwise rows(args, b0, b1): the directions side by side, each direction's batch
// rows split over its share of the cores.
template <typename Args, typename Columns, typename Rows>
void run_split(const std::vector<Args>& directions, int64_t scratch_size, Columns columns,
               Rows rows) {
  single_threaded_blas();
  const int64_t threads = worker_count(), count = directions.size();
  const Sizes& s = directions[0].s;
  if (count == 1 && choose_split(s, threads) == Split::kColumns) {
    std::vector<float> scratch(scratch_size);
    const int64_t hidden = s.hidden(), parts = std::min(threads, hidden);
    SpinBarrier barrier(parts);
    parallel_parts(parts, [&](int64_t part, int64_t parts) {
      columns(directions[0], slice_start(hidden, part, parts),
              slice_start(hidden, part + 1, parts), scratch.data(), barrier);
    });
    return;
  }
  const int64_t per = std::max<int64_t>(1, std::min<int64_t>(threads / count, s.batch));
  parallel_parts(count * per, [&](int64_t part, int64_t) {
    const int64_t slice = part % per;
    rows(directions[part / per], slice_start(s.batch, slice, per),
         slice_start(s.batch, slice + 1, per));
  });
}

template <typename T>
std::vector<float> to_f32_vector(const T* x, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = to_f32(x[i]);
  return out;
}

// ------------------------------------------------------------------------ forward

template <typename T>
struct ForwardArgs {
  Sizes s;
  const T* gates_x;    // [B, T, 4H]
  const float* w;      // [K, D, 4D] as float32
  const float* h0;     // [B, H]
  const float* c0;     // [B, H]
  const int32_t* len;  // [B]
  T* hs;               // [B, T, H]
  float* h_last;       // [B, H]
  float* c_last;       // [B, H]
  float* acts;         // [B, T, 4H] (i, f, g, o), zero past a length
  float* cs;           // [B, T, H] c_t (the frozen carry past a length)
};

template <typename T>
void forward_rows(const ForwardArgs<T>& a, int64_t b0, int64_t b1) {
  const Sizes& s = a.s;
  const int64_t rows = b1 - b0, hidden = s.hidden(), gates = s.gates(), time = s.time;
  std::vector<float> h(a.h0 + b0 * hidden, a.h0 + b1 * hidden);
  std::vector<float> c(a.c0 + b0 * hidden, a.c0 + b1 * hidden);
  std::vector<float> h_operand(rows * hidden), pre(rows * gates);
  for (int64_t t = 0; t < time; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      const T* x = a.gates_x + step_index(s, a.len, b0 + r, t) * gates;
      for (int64_t n = 0; n < gates; ++n) pre[r * gates + n] = to_f32(x[n]);
      for (int64_t j = 0; j < hidden; ++j)
        h_operand[r * hidden + j] = operand<T>(h[r * hidden + j]);
    }
    recurrent_product(s, rows, h_operand.data(), hidden, a.w, pre.data(), gates);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t b = b0 + r, at = step_index(s, a.len, b, t);
      float* acts = a.acts + at * gates;
      float *h_row = &h[r * hidden], *c_row = &c[r * hidden];
      T* y = a.hs + at * hidden;
      if (t < a.len[b]) {
        cell_forward_row(&pre[r * gates], hidden, acts, hidden, c_row, h_row, hidden);
        for (int64_t j = 0; j < hidden; ++j) y[j] = from_f32<T>(h_row[j]);
      } else {
        std::fill(acts, acts + gates, 0.0f);
        std::fill(y, y + hidden, from_f32<T>(0.0f));
      }
      std::copy(c_row, c_row + hidden, a.cs + at * hidden);
    }
  }
  std::copy(h.begin(), h.end(), a.h_last + b0 * hidden);
  std::copy(c.begin(), c.end(), a.c_last + b0 * hidden);
}

// Units [j0, j1) of every row (Split::kColumns, one head). h_operand [2, B, H] holds h_{t-1} as
// the product's operand, read whole and written by units, alternating between its two halves.
template <typename T>
void forward_columns(const ForwardArgs<T>& a, int64_t j0, int64_t j1, float* h_operand,
                     SpinBarrier& barrier) {
  const Sizes& s = a.s;
  const int64_t batch = s.batch, time = s.time, hidden = s.hidden(), gates = s.gates();
  const int64_t n = j1 - j0;
  std::vector<float> h(batch * n), c(batch * n), pre(batch * 4 * n), w(hidden * 4 * n);
  for (int64_t k = 0; k < hidden; ++k)  // this thread's gate columns of W_h, contiguous
    for (int64_t g = 0; g < 4; ++g)
      std::copy(a.w + k * gates + g * hidden + j0, a.w + k * gates + g * hidden + j1,
                &w[(k * 4 + g) * n]);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < n; ++j) {
      h[b * n + j] = a.h0[b * hidden + j0 + j];
      c[b * n + j] = a.c0[b * hidden + j0 + j];
      h_operand[b * hidden + j0 + j] = operand<T>(h[b * n + j]);
    }
  barrier.wait();
  for (int64_t t = 0; t < time; ++t) {
    const float* h_in = h_operand + (t % 2) * batch * hidden;
    float* h_out = h_operand + ((t + 1) % 2) * batch * hidden;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t g = 0; g < 4; ++g) {
        const T* x = a.gates_x + step_index(s, a.len, b, t) * gates + g * hidden + j0;
        for (int64_t j = 0; j < n; ++j) pre[(b * 4 + g) * n + j] = to_f32(x[j]);
      }
    gemm(CblasNoTrans, CblasNoTrans, batch, 4 * n, hidden, h_in, hidden, w.data(), 4 * n, 1.0f,
         pre.data(), 4 * n);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t at = step_index(s, a.len, b, t);
      float* acts = a.acts + at * gates + j0;
      float *h_row = &h[b * n], *c_row = &c[b * n];
      T* y = a.hs + at * hidden + j0;
      if (t < a.len[b]) {
        cell_forward_row(&pre[b * 4 * n], n, acts, hidden, c_row, h_row, n);
        for (int64_t j = 0; j < n; ++j) y[j] = from_f32<T>(h_row[j]);
      } else {
        for (int64_t g = 0; g < 4; ++g) std::fill(acts + g * hidden, acts + g * hidden + n, 0.0f);
        std::fill(y, y + n, from_f32<T>(0.0f));
      }
      std::copy(c_row, c_row + n, a.cs + at * hidden + j0);
      for (int64_t j = 0; j < n; ++j) h_out[b * hidden + j0 + j] = operand<T>(h_row[j]);
    }
    barrier.wait();
  }
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(&h[b * n], &h[(b + 1) * n], a.h_last + b * hidden + j0);
    std::copy(&c[b * n], &c[(b + 1) * n], a.c_last + b * hidden + j0);
  }
}

template <typename T>
void forward(const std::vector<ForwardArgs<T>>& directions) {
  const Sizes& s = directions[0].s;
  run_split(directions, 2 * s.batch * s.hidden(), forward_columns<T>, forward_rows<T>);
}

// ------------------------------------------------------------------------ backward

template <typename T>
struct BackwardArgs {
  Sizes s;
  const T* d_hs;       // [B, T, H]
  const float* d_h;    // [B, H] cotangent of h_last
  const float* d_c;    // [B, H] cotangent of c_last
  const float* acts;   // [B, T, 4H]
  const float* cs;     // [B, T, H]
  const float* h0;     // [B, H]
  const float* c0;     // [B, H]
  const T* hs;         // [B, T, H]
  const float* w;      // [K, D, 4D] as float32
  const int32_t* len;  // [B]
  float* d_pre;        // [B, T, 4H] float32 scratch (or d gates_x itself when T = float)
  T* d_gates;          // [B, T, 4H]
  float* dh0;          // [B, H]
  float* dc0;          // [B, H]
  float* dw;           // [K, D, 4D] float32
};

template <typename T>
void backward_rows(const BackwardArgs<T>& a, int64_t b0, int64_t b1) {
  const Sizes& s = a.s;
  const int64_t rows = b1 - b0, hidden = s.hidden(), gates = s.gates(), time = s.time;
  std::vector<float> dh(a.d_h + b0 * hidden, a.d_h + b1 * hidden);
  std::vector<float> dc(a.d_c + b0 * hidden, a.d_c + b1 * hidden);
  std::vector<float> dh_step(hidden), dh_prev(rows * hidden);
  // d pre_t as the product's operand: rounded (bfloat16) or gathered (reversed rows)
  std::vector<float> d_operand(std::is_same_v<T, float> && !s.reverse ? 0 : rows * gates);
  for (int64_t t = time - 1; t >= 0; --t) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t b = b0 + r, at = step_index(s, a.len, b, t);
      float* d_pre = a.d_pre + at * gates;
      if (t < a.len[b]) {
        const T* d_y = a.d_hs + at * hidden;
        for (int64_t j = 0; j < hidden; ++j) dh_step[j] = dh[r * hidden + j] + to_f32(d_y[j]);
        const float* c_prev =
            t ? a.cs + step_index(s, a.len, b, t - 1) * hidden : a.c0 + b * hidden;
        cell_backward_row(a.acts + at * gates, a.cs + at * hidden, c_prev, dh_step.data(),
                          &dc[r * hidden], d_pre, hidden, hidden);
      } else {
        std::fill(d_pre, d_pre + gates, 0.0f);
      }
      if (!d_operand.empty())
        for (int64_t n = 0; n < gates; ++n) d_operand[r * gates + n] = operand<T>(d_pre[n]);
    }
    if (d_operand.empty())  // float32 in order: this step's rows of d_pre, T*4H apart
      recurrent_product_transposed(s, rows, a.d_pre + (b0 * time + t) * gates, time * gates, a.w,
                                   dh_prev.data());
    else
      recurrent_product_transposed(s, rows, d_operand.data(), gates, a.w, dh_prev.data());
    for (int64_t r = 0; r < rows; ++r)
      if (t < a.len[b0 + r])
        std::copy(&dh_prev[r * hidden], &dh_prev[(r + 1) * hidden], &dh[r * hidden]);
  }
  std::copy(dh.begin(), dh.end(), a.dh0 + b0 * hidden);
  std::copy(dc.begin(), dc.end(), a.dc0 + b0 * hidden);
}

// dW[k, :, g*D:(g+1)*D] = sum over all B*T rows of h_prev[:, head k]^T d_pre[:, block (g, k)],
// the (head, gate) blocks split over the cores.
template <typename T>
void weight_gradient(const BackwardArgs<T>& a) {
  const Sizes& s = a.s;
  const int64_t hidden = s.hidden(), gates = s.gates(), rows = s.batch * s.time, d = s.head;
  std::vector<float> h_prev(rows * hidden);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < s.time; ++t) {  // h of the step before the one at time t
      const int64_t before = s.reverse ? t + 1 : t - 1;
      const bool first = s.reverse ? before >= a.len[b] : t == 0;
      float* out = &h_prev[(b * s.time + t) * hidden];
      if (first)
        for (int64_t j = 0; j < hidden; ++j) out[j] = operand<T>(a.h0[b * hidden + j]);
      else
        for (int64_t j = 0; j < hidden; ++j)
          out[j] = to_f32(a.hs[(b * s.time + before) * hidden + j]);
    }
  const int64_t blocks = 4 * s.heads;
  parallel_parts(std::min<int64_t>(worker_count(), blocks), [&](int64_t part, int64_t parts) {
    for (int64_t block = slice_start(blocks, part, parts);
         block < slice_start(blocks, part + 1, parts); ++block) {
      const int64_t k = block / 4, g = block % 4;
      gemm(CblasTrans, CblasNoTrans, d, d, rows, h_prev.data() + k * d, hidden,
           a.d_pre + g * hidden + k * d, gates, 0.0f, a.dw + k * d * 4 * d + g * d, 4 * d);
    }
  });
}

// Units [j0, j1) of every row (Split::kColumns, one head): d pre_t of these units, then after a
// barrier dh_{t-1}[:, j0:j1] = d pre_t W_h[j0:j1, :]^T from every thread's d pre_t. With
// bfloat16, d_operand [2, B, 4H] holds d pre_t rounded, alternating between its two halves.
template <typename T>
void backward_columns(const BackwardArgs<T>& a, int64_t j0, int64_t j1, float* d_operand,
                      SpinBarrier& barrier) {
  const Sizes& s = a.s;
  const int64_t batch = s.batch, time = s.time, hidden = s.hidden(), gates = s.gates();
  const int64_t n = j1 - j0;
  const bool gather = !std::is_same_v<T, float> || s.reverse;  // d_operand as in backward_rows
  std::vector<float> dh(batch * n), dc(batch * n), dh_step(n), dh_prev(batch * n);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < n; ++j) {
      dh[b * n + j] = a.d_h[b * hidden + j0 + j];
      dc[b * n + j] = a.d_c[b * hidden + j0 + j];
    }
  for (int64_t t = time - 1; t >= 0; --t) {
    float* d_step = gather ? d_operand + (t % 2) * batch * gates : nullptr;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t at = step_index(s, a.len, b, t);
      float* d_pre = a.d_pre + at * gates + j0;
      if (t < a.len[b]) {
        const T* d_y = a.d_hs + at * hidden + j0;
        for (int64_t j = 0; j < n; ++j) dh_step[j] = dh[b * n + j] + to_f32(d_y[j]);
        const float* c_prev =
            t ? a.cs + step_index(s, a.len, b, t - 1) * hidden : a.c0 + b * hidden;
        cell_backward_row(a.acts + at * gates + j0, a.cs + at * hidden + j0, c_prev + j0,
                          dh_step.data(), &dc[b * n], d_pre, hidden, n);
      } else {
        for (int64_t g = 0; g < 4; ++g)
          std::fill(d_pre + g * hidden, d_pre + g * hidden + n, 0.0f);
      }
      if (gather)
        for (int64_t g = 0; g < 4; ++g)
          for (int64_t j = 0; j < n; ++j)
            d_step[b * gates + g * hidden + j0 + j] = operand<T>(d_pre[g * hidden + j]);
    }
    barrier.wait();
    if (!gather)  // this step's rows of d_pre, T*4H apart
      gemm(CblasNoTrans, CblasTrans, batch, n, gates, a.d_pre + t * gates, time * gates,
           a.w + j0 * gates, gates, 0.0f, dh_prev.data(), n);
    else
      gemm(CblasNoTrans, CblasTrans, batch, n, gates, d_step, gates, a.w + j0 * gates, gates,
           0.0f, dh_prev.data(), n);
    for (int64_t b = 0; b < batch; ++b)
      if (t < a.len[b]) std::copy(&dh_prev[b * n], &dh_prev[(b + 1) * n], &dh[b * n]);
  }
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(&dh[b * n], &dh[(b + 1) * n], a.dh0 + b * hidden + j0);
    std::copy(&dc[b * n], &dc[(b + 1) * n], a.dc0 + b * hidden + j0);
  }
}

// d gates_x in T from the float32 d pre (bfloat16 only), rows split over the cores.
template <typename T>
void round_gate_gradient(const BackwardArgs<T>& a) {
  const int64_t rows = a.s.batch * a.s.time, gates = a.s.gates();
  parallel_parts(std::min<int64_t>(worker_count(), rows), [&](int64_t part, int64_t parts) {
    const int64_t end = slice_start(rows, part + 1, parts) * gates;
    for (int64_t n = slice_start(rows, part, parts) * gates; n < end; ++n)
      a.d_gates[n] = from_f32<T>(a.d_pre[n]);
  });
}

template <typename T>
void backward(const std::vector<BackwardArgs<T>>& directions) {
  const Sizes& s = directions[0].s;
  run_split(directions, 2 * s.batch * s.gates(), backward_columns<T>, backward_rows<T>);
  for (const BackwardArgs<T>& direction : directions) {
    if constexpr (!std::is_same_v<T, float>) round_gate_gradient(direction);
    weight_gradient(direction);
  }
}

// ------------------------------------------------------------------------ FFI handlers

// gates_x [N, B, T, 4H] and w_h [N, K, D, 4D] of N directions; bit n of `reversed` reverses
// direction n (Sizes::reverse).
ffi::Error check_sizes(const ffi::AnyBuffer& gates_x, const ffi::AnyBuffer& w_h, int64_t reversed,
                       std::vector<Sizes>* directions) {
  auto gx = gates_x.dimensions();
  auto w = w_h.dimensions();
  if (gx.size() != 4 || w.size() != 4 || gx[0] != w[0] || w[3] != 4 * w[2] ||
      gx[3] != 4 * w[1] * w[2])
    return ffi::Error::InvalidArgument(
        "rnnjax_lstm: gates_x must be [N, B, T, 4H] and w_h [N, num_heads, D, 4D] with "
        "num_heads*D=H");
  if (gates_x.element_type() != w_h.element_type())
    return ffi::Error::InvalidArgument("rnnjax_lstm: gates_x and w_h must have one dtype");
  if (gates_x.element_type() != ffi::F32 && gates_x.element_type() != ffi::BF16)
    return ffi::Error::InvalidArgument("rnnjax_lstm: dtype must be float32 or bfloat16");
  for (int64_t n = 0; n < gx[0]; ++n)
    directions->push_back(Sizes{gx[1], gx[2], w[1], w[2], ((reversed >> n) & 1) != 0});
  return ffi::Error::Success();
}

// Element offsets of direction n's blocks in the [N, ...] buffers.
struct Offsets {
  int64_t carry, sequence, gates, weights;
  explicit Offsets(const Sizes& s, int64_t n)
      : carry(n * s.batch * s.hidden()),
        sequence(n * s.batch * s.time * s.hidden()),
        gates(4 * sequence),
        weights(n * s.heads * s.head * 4 * s.head) {}
};

template <typename T>
const float* weights_f32(const ffi::AnyBuffer& w_h, std::vector<float>* storage) {
  const T* w_raw = reinterpret_cast<const T*>(w_h.untyped_data());
  if constexpr (std::is_same_v<T, float>) return w_raw;
  *storage = to_f32_vector(w_raw, w_h.element_count());
  return storage->data();
}

template <typename T>
ffi::Error run_forward(const std::vector<Sizes>& sizes, ffi::AnyBuffer gates_x,
                       ffi::AnyBuffer w_h, ffi::Buffer<ffi::F32> h0, ffi::Buffer<ffi::F32> c0,
                       ffi::Buffer<ffi::S32> lengths, ffi::AnyBuffer hs,
                       ffi::Buffer<ffi::F32> h_last, ffi::Buffer<ffi::F32> c_last,
                       ffi::Buffer<ffi::F32> acts, ffi::Buffer<ffi::F32> cs) {
  std::vector<float> w_storage;
  const float* w = weights_f32<T>(w_h, &w_storage);
  std::vector<ForwardArgs<T>> directions;
  for (size_t n = 0; n < sizes.size(); ++n) {
    const Offsets o(sizes[n], n);
    directions.push_back(ForwardArgs<T>{
        sizes[n], reinterpret_cast<const T*>(gates_x.untyped_data()) + o.gates, w + o.weights,
        h0.typed_data() + o.carry, c0.typed_data() + o.carry, lengths.typed_data(),
        reinterpret_cast<T*>(hs.untyped_data()) + o.sequence, h_last.typed_data() + o.carry,
        c_last.typed_data() + o.carry, acts.typed_data() + o.gates, cs.typed_data() + o.sequence});
  }
  forward(directions);
  return ffi::Error::Success();
}

ffi::Error LstmForward(ffi::AnyBuffer gates_x, ffi::AnyBuffer w_h, ffi::Buffer<ffi::F32> h0,
                       ffi::Buffer<ffi::F32> c0, ffi::Buffer<ffi::S32> lengths, int64_t reversed,
                       ffi::Result<ffi::AnyBuffer> hs, ffi::Result<ffi::Buffer<ffi::F32>> h_last,
                       ffi::Result<ffi::Buffer<ffi::F32>> c_last,
                       ffi::Result<ffi::Buffer<ffi::F32>> acts,
                       ffi::Result<ffi::Buffer<ffi::F32>> cs) {
  std::vector<Sizes> sizes;
  if (ffi::Error error = check_sizes(gates_x, w_h, reversed, &sizes); error.failure())
    return error;
  if (gates_x.element_type() == ffi::F32)
    return run_forward<float>(sizes, gates_x, w_h, h0, c0, lengths, *hs, *h_last, *c_last, *acts,
                              *cs);
  return run_forward<bf16_bits>(sizes, gates_x, w_h, h0, c0, lengths, *hs, *h_last, *c_last,
                                *acts, *cs);
}

template <typename T>
ffi::Error run_backward(const std::vector<Sizes>& sizes, ffi::AnyBuffer d_hs,
                        ffi::Buffer<ffi::F32> d_h, ffi::Buffer<ffi::F32> d_c,
                        ffi::Buffer<ffi::F32> acts, ffi::Buffer<ffi::F32> cs,
                        ffi::Buffer<ffi::F32> h0, ffi::Buffer<ffi::F32> c0, ffi::AnyBuffer hs,
                        ffi::AnyBuffer w_h, ffi::Buffer<ffi::S32> lengths,
                        ffi::AnyBuffer d_gates, ffi::Buffer<ffi::F32> dh0,
                        ffi::Buffer<ffi::F32> dc0, ffi::AnyBuffer dw_h) {
  std::vector<float> w_storage, d_pre_f32, dw_f32;
  const float* w = weights_f32<T>(w_h, &w_storage);
  T* d_gates_out = reinterpret_cast<T*>(d_gates.untyped_data());
  float *d_pre, *dw;
  if constexpr (std::is_same_v<T, float>) {
    d_pre = d_gates_out;
    dw = reinterpret_cast<float*>(dw_h.untyped_data());
  } else {
    d_pre_f32.resize(d_gates.element_count());
    d_pre = d_pre_f32.data();
    dw_f32.resize(dw_h.element_count());
    dw = dw_f32.data();
  }
  std::vector<BackwardArgs<T>> directions;
  for (size_t n = 0; n < sizes.size(); ++n) {
    const Offsets o(sizes[n], n);
    directions.push_back(BackwardArgs<T>{
        sizes[n], reinterpret_cast<const T*>(d_hs.untyped_data()) + o.sequence,
        d_h.typed_data() + o.carry, d_c.typed_data() + o.carry, acts.typed_data() + o.gates,
        cs.typed_data() + o.sequence, h0.typed_data() + o.carry, c0.typed_data() + o.carry,
        reinterpret_cast<const T*>(hs.untyped_data()) + o.sequence, w + o.weights,
        lengths.typed_data(), d_pre + o.gates, d_gates_out + o.gates, dh0.typed_data() + o.carry,
        dc0.typed_data() + o.carry, dw + o.weights});
  }
  backward(directions);
  if constexpr (!std::is_same_v<T, float>) {
    T* out = reinterpret_cast<T*>(dw_h.untyped_data());
    for (size_t n = 0; n < dw_f32.size(); ++n) out[n] = from_f32<T>(dw_f32[n]);
  }
  return ffi::Error::Success();
}

ffi::Error LstmBackward(ffi::AnyBuffer d_hs, ffi::Buffer<ffi::F32> d_h, ffi::Buffer<ffi::F32> d_c,
                        ffi::Buffer<ffi::F32> acts, ffi::Buffer<ffi::F32> cs,
                        ffi::Buffer<ffi::F32> h0, ffi::Buffer<ffi::F32> c0, ffi::AnyBuffer hs,
                        ffi::AnyBuffer w_h, ffi::Buffer<ffi::S32> lengths, int64_t reversed,
                        ffi::Result<ffi::AnyBuffer> d_gates,
                        ffi::Result<ffi::Buffer<ffi::F32>> dh0,
                        ffi::Result<ffi::Buffer<ffi::F32>> dc0,
                        ffi::Result<ffi::AnyBuffer> dw_h) {
  std::vector<Sizes> sizes;
  if (ffi::Error error = check_sizes(*d_gates, w_h, reversed, &sizes); error.failure())
    return error;
  if (w_h.element_type() == ffi::F32)
    return run_backward<float>(sizes, d_hs, d_h, d_c, acts, cs, h0, c0, hs, w_h, lengths,
                               *d_gates, *dh0, *dc0, *dw_h);
  return run_backward<bf16_bits>(sizes, d_hs, d_h, d_c, acts, cs, h0, c0, hs, w_h, lengths,
                                 *d_gates, *dh0, *dc0, *dw_h);
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(RnnjaxLstmForward, LstmForward,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()         // gates_x
                                  .Arg<ffi::AnyBuffer>()         // w_h
                                  .Arg<ffi::Buffer<ffi::F32>>()  // h0
                                  .Arg<ffi::Buffer<ffi::F32>>()  // c0
                                  .Arg<ffi::Buffer<ffi::S32>>()  // lengths
                                  .Attr<int64_t>("reversed")     // bit n: direction n
                                  .Ret<ffi::AnyBuffer>()         // hs
                                  .Ret<ffi::Buffer<ffi::F32>>()  // h_last
                                  .Ret<ffi::Buffer<ffi::F32>>()  // c_last
                                  .Ret<ffi::Buffer<ffi::F32>>()  // acts
                                  .Ret<ffi::Buffer<ffi::F32>>()  // cs
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(RnnjaxLstmBackward, LstmBackward,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()         // d_hs
                                  .Arg<ffi::Buffer<ffi::F32>>()  // d_h (of h_last)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // d_c (of c_last)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // acts
                                  .Arg<ffi::Buffer<ffi::F32>>()  // cs
                                  .Arg<ffi::Buffer<ffi::F32>>()  // h0
                                  .Arg<ffi::Buffer<ffi::F32>>()  // c0
                                  .Arg<ffi::AnyBuffer>()         // hs
                                  .Arg<ffi::AnyBuffer>()         // w_h
                                  .Arg<ffi::Buffer<ffi::S32>>()  // lengths
                                  .Attr<int64_t>("reversed")     // bit n: direction n
                                  .Ret<ffi::AnyBuffer>()         // d gates_x
                                  .Ret<ffi::Buffer<ffi::F32>>()  // dh0
                                  .Ret<ffi::Buffer<ffi::F32>>()  // dc0
                                  .Ret<ffi::AnyBuffer>()         // dW_h
);

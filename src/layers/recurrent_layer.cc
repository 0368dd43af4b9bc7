// The recurrent layer: orchestration of GEMMs and fused cell steps; see recurrent_layer.h.
//
// Buffers per layer and direction (all time-major, planned for (T, B)):
//   x_rev [T, B, I_k]  reverse direction only: each sequence reversed within its length
//   xg    [T, B, G*H]  input-side pre-activations (+ biases), then gate activations
//   hh    [T, B, 3H]   GRU: hidden-side values W_hh h + b_hh (n part: hn)
//   rh    [T, B, H]    GRU reset-before: r * h_{t-1}
//   h     [T+1, B, R]  h[0] = h0, h[t+1] = state after step t (frozen past the length)
//   c     [T+1, B, H]  LSTM cell states
//   m     [T, B, H]    LSTM with projection: o * tanh(c) before W_hr
#include "rnnkit/layers/recurrent_layer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "rnnkit/core/blas.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/threads.h"
#include "rnnkit/layers/gru_cell.h"
#include "rnnkit/layers/lstm_cell.h"
#include "rnnkit/layers/rnn_cell.h"

namespace rnnkit {
namespace {

template <class T>
struct DirectionParams {
  const T* w_ih;
  const T* w_hh;
  const T* b_ih;
  const T* b_hh;
  const T* w_hr;
  T* dw_ih;
  T* dw_hh;
  T* db_ih;
  T* db_hh;
  T* dw_hr;
};

template <class T>
struct DirectionBuffers {
  std::vector<T> x_rev, xg, hh, rh, h, c, m;
};

template <class T>
void add_bias_rows(T* a, int64_t rows, int64_t cols, const T* bias) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = a + r * cols;
    for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
  }
}

// out[j] += sum_r a[r * lda + j] for j < cols.
template <class T>
void add_column_sums(const T* a, int64_t rows, int64_t cols, int64_t lda, T* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = a + r * lda;
    for (int64_t j = 0; j < cols; ++j) out[j] += row[j];
  }
}

std::string layer_error(const RecurrentSpec& spec, const std::string& what) {
  return std::string(cell_name(spec.cell)) + " layer: " + what;
}

std::string dropout_stream_name(const std::string& scope) { return scope.empty() ? "dropout" : scope + "/dropout"; }

}  // namespace

const char* merge_name(BidirectionalMerge merge) {
  switch (merge) {
    case BidirectionalMerge::concat: return "concat";
    case BidirectionalMerge::sum: return "sum";
    case BidirectionalMerge::mul: return "mul";
    case BidirectionalMerge::ave: return "ave";
  }
  return "?";
}

BidirectionalMerge parse_merge(const std::string& name) {
  for (BidirectionalMerge m : {BidirectionalMerge::concat, BidirectionalMerge::sum, BidirectionalMerge::mul,
                               BidirectionalMerge::ave}) {
    if (name == merge_name(m)) return m;
  }
  throw Error("unknown bidirectional merge '" + name + "'; expected one of concat, sum, mul, ave");
}

void check_recurrent_options(const RecurrentSpec& spec, const RecurrentLayerOptions& options) {
  if (options.merge != BidirectionalMerge::concat && !spec.bidirectional) {
    throw Error(std::string("merge '") + merge_name(options.merge) +
                "' needs a bidirectional layer; this one has one direction");
  }
  if (!(options.dropout >= 0.0 && options.dropout < 1.0)) {
    throw Error("dropout is " + std::to_string(options.dropout) + ", expected a value in [0, 1)");
  }
}

template <class T>
struct RecurrentLayer<T>::Workspace {
  int64_t steps = -1, batch = -1;
  std::vector<int64_t> lengths;             // [B]
  std::vector<uint8_t> active;              // [T, B]: t < length
  bool all_active = true;
  std::vector<T> input;                     // layer 0 input, time-major [T, B, I]
  std::vector<std::vector<T>> layer_out;    // per layer [T, B, D*R]
  std::vector<std::array<DirectionBuffers<T>, 2>> dirs;
  std::vector<std::vector<T>> dropout_mask;  // per layer but the last [T, B, D*R]: 0 or 1/(1-p)
  bool dropped = false;                      // the last forward applied the masks
  std::vector<T> dxg, dhh, dhp, dh, dh_prev, dc, dm, drh, d_upper, d_lower, dx_reverse;
  bool has_forward = false;
};

template <class T>
RecurrentLayer<T>::RecurrentLayer(VariableStore& store, std::string scope, RecurrentSpec spec,
                                  RecurrentLayerOptions options)
    : store_(&store),
      scope_(std::move(scope)),
      spec_(spec),
      options_(options),
      dropout_stream_(std::make_unique<RandomStream>(store.seed(), dropout_stream_name(scope_))),
      work_(std::make_unique<Workspace>()) {
  spec_.validate();
  try {
    check_recurrent_options(spec_, options_);
  } catch (const Error& e) {
    throw Error(layer_error(spec_, e.what()));
  }
  if (store.dtype() != DTypeOf<T>::value) {
    throw Error(layer_error(spec_, std::string("the store holds ") + dtype_name(store.dtype()) +
                                       " variables, the layer computes in " + dtype_name(DTypeOf<T>::value)));
  }
  for (const RecurrentParameter& p : recurrent_parameters(spec_)) {
    const std::string name = scope_.empty() ? p.name : scope_ + "/" + p.name;
    const Variable* v = store.find(name);
    if (v == nullptr) throw Error(layer_error(spec_, "variable '" + name + "' is not in the store"));
    if (v->shape != p.shape) {
      throw Error(layer_error(spec_, "variable '" + name + "' has shape " + shape_to_string(v->shape) + ", expected " +
                                         shape_to_string(p.shape)));
    }
  }
}

template <class T>
int64_t RecurrentLayer<T>::output_size() const {
  return options_.merge == BidirectionalMerge::concat ? spec_.directions() * spec_.recurrent_width()
                                                      : spec_.recurrent_width();
}

template <class T>
void RecurrentLayer<T>::set_dropout_seed(uint64_t seed) {
  dropout_stream_ = std::make_unique<RandomStream>(seed, dropout_stream_name(scope_));
}

template <class T>
RecurrentLayer<T>::~RecurrentLayer() = default;
template <class T>
RecurrentLayer<T>::RecurrentLayer(RecurrentLayer&&) noexcept = default;
template <class T>
RecurrentLayer<T>& RecurrentLayer<T>::operator=(RecurrentLayer&&) noexcept = default;

namespace {

template <class T>
DirectionParams<T> bind_params(VariableStore& store, const std::string& scope, const RecurrentSpec& spec, int64_t layer,
                               bool reverse) {
  auto var = [&](const char* kind) -> const Variable& {
    const std::string rel = recurrent_variable_name(layer, reverse, kind);
    return store.at(scope.empty() ? rel : scope + "/" + rel);
  };
  DirectionParams<T> p{};
  p.w_ih = store.value<T>(var("weight_ih")).data();
  p.w_hh = store.value<T>(var("weight_hh")).data();
  p.b_ih = store.value<T>(var("bias_ih")).data();
  p.b_hh = store.value<T>(var("bias_hh")).data();
  p.dw_ih = store.grad<T>(var("weight_ih")).data();
  p.dw_hh = store.grad<T>(var("weight_hh")).data();
  p.db_ih = store.grad<T>(var("bias_ih")).data();
  p.db_hh = store.grad<T>(var("bias_hh")).data();
  if (spec.proj_size > 0) {
    p.w_hr = store.value<T>(var("weight_hr")).data();
    p.dw_hr = store.grad<T>(var("weight_hr")).data();
  }
  return p;
}

void check_shape(const RecurrentSpec& spec, const char* what, const Shape& got, const Shape& expected,
                 const char* meaning) {
  if (got != expected) {
    throw Error(layer_error(spec, std::string(what) + " has shape " + shape_to_string(got) + ", expected " +
                                      shape_to_string(expected) + " (" + meaning + ")"));
  }
}

}  // namespace

template <class T>
RecurrentResult<T> RecurrentLayer<T>::forward(TensorView<const T> input, std::span<const int64_t> lengths,
                                              TensorView<const T> h0, TensorView<const T> c0) {
  const RecurrentSpec& s = spec_;
  if (input.data() == nullptr || input.rank() != 3) {
    throw Error(layer_error(s, "input has shape " + shape_to_string(input.shape()) + ", expected rank 3 " +
                                   (options_.batch_first ? "[B, T, I]" : "[T, B, I]")));
  }
  const int64_t steps = options_.batch_first ? input.dim(1) : input.dim(0);
  const int64_t batch = options_.batch_first ? input.dim(0) : input.dim(1);
  const int64_t in = input.dim(2);
  if (in != s.input_size) {
    throw Error(layer_error(s, "input has shape " + shape_to_string(input.shape()) + ", expected input size " +
                                   std::to_string(s.input_size) + " in the last dimension"));
  }
  if (steps < 1 || batch < 1) {
    throw Error(layer_error(s, "input has shape " + shape_to_string(input.shape()) + ": T and B must be at least 1"));
  }
  const int64_t dirs = s.directions(), hidden = s.hidden_size, rw = s.recurrent_width();
  const int64_t gh = gate_count(s.cell) * hidden;
  const bool lstm = s.cell == CellKind::lstm, gru = s.cell == CellKind::gru;
  if (h0.data() != nullptr) check_shape(s, "h0", h0.shape(), {s.num_layers * dirs, batch, rw}, "layers*directions, batch, hidden");
  if (c0.data() != nullptr) {
    if (!lstm) throw Error(layer_error(s, "c0 was given, but only an LSTM has a cell state"));
    check_shape(s, "c0", c0.shape(), {s.num_layers * dirs, batch, hidden}, "layers*directions, batch, hidden");
  }
  if (!lengths.empty() && static_cast<int64_t>(lengths.size()) != batch) {
    throw Error(layer_error(s, "lengths has " + std::to_string(lengths.size()) + " values, expected one per sequence (" +
                                   std::to_string(batch) + ")"));
  }
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 1 || lengths[b] > steps) {
      throw Error(layer_error(s, "lengths[" + std::to_string(b) + "] is " + std::to_string(lengths[b]) +
                                     ", expected a value in [1, " + std::to_string(steps) + "] (T)"));
    }
  }
  get_threads();  // resolve the thread default (and BLAS's) before computing

  Workspace& w = *work_;
  const int64_t tb = steps * batch;
  if (w.steps != steps || w.batch != batch) {  // plan the workspace for (T, B)
    w = Workspace{};
    w.steps = steps;
    w.batch = batch;
    w.active.resize(static_cast<std::size_t>(tb));
    w.input.resize(static_cast<std::size_t>(tb * in));
    w.layer_out.resize(static_cast<std::size_t>(s.num_layers));
    w.dirs.resize(static_cast<std::size_t>(s.num_layers));
    for (int64_t l = 0; l < s.num_layers; ++l) {
      w.layer_out[l].resize(static_cast<std::size_t>(tb * dirs * rw));
      for (int64_t d = 0; d < dirs; ++d) {
        DirectionBuffers<T>& db = w.dirs[l][d];
        if (d == 1) db.x_rev.resize(static_cast<std::size_t>(tb * s.layer_input_size(l)));
        db.xg.resize(static_cast<std::size_t>(tb * gh));
        if (gru) db.hh.resize(static_cast<std::size_t>(tb * gh));
        if (gru && options_.gru_reset == GruReset::before) db.rh.resize(static_cast<std::size_t>(tb * hidden));
        db.h.resize(static_cast<std::size_t>((steps + 1) * batch * rw));
        if (lstm) db.c.resize(static_cast<std::size_t>((steps + 1) * batch * hidden));
        if (lstm && s.proj_size > 0) db.m.resize(static_cast<std::size_t>(tb * hidden));
      }
    }
  }
  w.dropped = training_ && options_.dropout > 0.0 && s.num_layers > 1;
  if (w.dropped && w.dropout_mask.empty()) {
    w.dropout_mask.resize(static_cast<std::size_t>(s.num_layers - 1));
    for (std::vector<T>& mask : w.dropout_mask) mask.resize(static_cast<std::size_t>(tb * dirs * rw));
  }
  w.lengths.assign(static_cast<std::size_t>(batch), steps);
  if (!lengths.empty()) std::copy(lengths.begin(), lengths.end(), w.lengths.begin());
  w.all_active = std::all_of(w.lengths.begin(), w.lengths.end(), [&](int64_t n) { return n == steps; });
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < batch; ++b) w.active[t * batch + b] = t < w.lengths[b] ? 1 : 0;
  }
  // Layer 0's input, time-major.
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < batch; ++b) {
      const T* src = input.data() + (options_.batch_first ? (b * steps + t) : (t * batch + b)) * in;
      std::copy(src, src + in, w.input.data() + (t * batch + b) * in);
    }
  }

  for (int64_t l = 0; l < s.num_layers; ++l) {
    const int64_t lin = s.layer_input_size(l);
    const T* layer_in = l == 0 ? w.input.data() : w.layer_out[l - 1].data();
    T* out = w.layer_out[l].data();
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = d == 1;
      DirectionBuffers<T>& db = w.dirs[l][d];
      const DirectionParams<T> p = bind_params<T>(*store_, scope_, s, l, reverse);
      const T* x = layer_in;
      if (reverse) {  // x_rev[t, b] = x[len_b - 1 - t, b] for t < len_b, zero after
        std::fill(db.x_rev.begin(), db.x_rev.end(), T(0));
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t t = 0; t < w.lengths[b]; ++t) {
            const T* src = layer_in + ((w.lengths[b] - 1 - t) * batch + b) * lin;
            std::copy(src, src + lin, db.x_rev.data() + (t * batch + b) * lin);
          }
        }
        x = db.x_rev.data();
      }
      // Input projection of all steps: xg = X W_ih^T + b_ih (+ b_hh where it simply adds).
      gemm_strided(false, true, tb, gh, lin, T(1), x, lin, p.w_ih, lin, T(0), db.xg.data(), gh);
      add_bias_rows(db.xg.data(), tb, gh, p.b_ih);
      if (!gru) add_bias_rows(db.xg.data(), tb, gh, p.b_hh);
      // Initial state.
      const int64_t row = l * dirs + d;
      if (h0.data() != nullptr) {
        std::copy(h0.data() + row * batch * rw, h0.data() + (row + 1) * batch * rw, db.h.begin());
      } else {
        std::fill(db.h.begin(), db.h.begin() + batch * rw, T(0));
      }
      if (lstm) {
        if (c0.data() != nullptr) {
          std::copy(c0.data() + row * batch * hidden, c0.data() + (row + 1) * batch * hidden, db.c.begin());
        } else {
          std::fill(db.c.begin(), db.c.begin() + batch * hidden, T(0));
        }
      }
      const uint8_t* active_all = w.all_active ? nullptr : w.active.data();
      for (int64_t t = 0; t < steps; ++t) {
        const uint8_t* active = active_all ? active_all + t * batch : nullptr;
        T* xg = db.xg.data() + t * batch * gh;
        const T* h_prev = db.h.data() + t * batch * rw;
        T* h_next = db.h.data() + (t + 1) * batch * rw;
        if (lstm) {
          gemm_strided(false, true, batch, gh, rw, T(1), h_prev, rw, p.w_hh, rw, T(1), xg, gh);  // += h W_hh^T
          T* m = s.proj_size > 0 ? db.m.data() + t * batch * hidden : h_next;
          lstm_step_forward(batch, hidden, xg, db.c.data() + t * batch * hidden, db.c.data() + (t + 1) * batch * hidden,
                            m, active);
          if (s.proj_size > 0) gemm_strided(false, true, batch, rw, hidden, T(1), m, hidden, p.w_hr, hidden, T(0), h_next, rw);
        } else if (gru) {
          T* hh = db.hh.data() + t * batch * gh;
          for (int64_t b = 0; b < batch; ++b) std::copy(p.b_hh, p.b_hh + gh, hh + b * gh);
          if (options_.gru_reset == GruReset::after) {
            gemm_strided(false, true, batch, gh, hidden, T(1), h_prev, hidden, p.w_hh, hidden, T(1), hh, gh);
            gru_step_forward(batch, hidden, xg, hh, h_prev, h_next, active);
          } else {
            T* rh = db.rh.data() + t * batch * hidden;
            gemm_strided(false, true, batch, 2 * hidden, hidden, T(1), h_prev, hidden, p.w_hh, hidden, T(1), hh, gh);
            gru_before_step_forward_gates(batch, hidden, xg, hh, h_prev, rh);
            gemm_strided(false, true, batch, hidden, hidden, T(1), rh, hidden, p.w_hh + 2 * hidden * hidden, hidden, T(1),
                         hh + 2 * hidden, gh);
            gru_before_step_forward_output(batch, hidden, xg, hh, h_prev, h_next, active);
          }
        } else {
          gemm_strided(false, true, batch, gh, hidden, T(1), h_prev, hidden, p.w_hh, hidden, T(1), xg, gh);
          rnn_step_forward(batch, hidden, s.cell == CellKind::rnn_relu, xg, h_prev, h_next, active);
        }
        if (active != nullptr) {  // past its length a sequence keeps its state
          for (int64_t b = 0; b < batch; ++b) {
            if (!active[b]) std::copy(h_prev + b * rw, h_prev + (b + 1) * rw, h_next + b * rw);
          }
        }
      }
      // Output: the direction's h_t in the layer output's d-th block, zero past the length.
      for (int64_t t = 0; t < steps; ++t) {
        for (int64_t b = 0; b < batch; ++b) {
          const bool on = t < w.lengths[b];
          const int64_t t_out = reverse && on ? w.lengths[b] - 1 - t : t;
          T* dst = out + (t_out * batch + b) * dirs * rw + d * rw;
          if (on) {
            const T* src = db.h.data() + ((t + 1) * batch + b) * rw;
            std::copy(src, src + rw, dst);
          } else if (!reverse) {
            std::fill(dst, dst + rw, T(0));
          }
        }
      }
      if (reverse) {  // padded positions of the reverse block were not written above
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t t = w.lengths[b]; t < steps; ++t) {
            T* dst = out + (t * batch + b) * dirs * rw + rw;
            std::fill(dst, dst + rw, T(0));
          }
        }
      }
    }
    if (w.dropped && l + 1 < s.num_layers) {  // the next layer reads the dropped-out output
      std::vector<T>& mask = w.dropout_mask[l];
      const double keep = 1.0 - options_.dropout;
      const T scale = static_cast<T>(1.0 / keep);
      for (std::size_t i = 0; i < mask.size(); ++i) {
        mask[i] = dropout_stream_->uniform() < keep ? scale : T(0);
        out[i] *= mask[i];
      }
    }
  }

  RecurrentResult<T> result;
  const int64_t lw = dirs * rw, ow = output_size();  // the last layer's width, the output's
  const std::vector<T>& last = w.layer_out.back();
  result.output = Tensor<T>(options_.batch_first ? Shape{batch, steps, ow} : Shape{steps, batch, ow});
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < batch; ++b) {
      const T* fw = last.data() + (t * batch + b) * lw;
      const T* bw = fw + rw;
      T* dst = result.output.data() + (options_.batch_first ? (b * steps + t) : (t * batch + b)) * ow;
      switch (options_.merge) {
        case BidirectionalMerge::concat: std::copy(fw, fw + lw, dst); break;
        case BidirectionalMerge::sum: for (int64_t j = 0; j < rw; ++j) dst[j] = fw[j] + bw[j]; break;
        case BidirectionalMerge::mul: for (int64_t j = 0; j < rw; ++j) dst[j] = fw[j] * bw[j]; break;
        case BidirectionalMerge::ave: for (int64_t j = 0; j < rw; ++j) dst[j] = (fw[j] + bw[j]) / T(2); break;
      }
    }
  }
  result.h_n = Tensor<T>({s.num_layers * dirs, batch, rw});
  if (lstm) result.c_n = Tensor<T>({s.num_layers * dirs, batch, hidden});
  for (int64_t l = 0; l < s.num_layers; ++l) {
    for (int64_t d = 0; d < dirs; ++d) {
      const DirectionBuffers<T>& db = w.dirs[l][d];
      const int64_t row = l * dirs + d;
      std::copy(db.h.begin() + steps * batch * rw, db.h.end(), result.h_n.data() + row * batch * rw);
      if (lstm) std::copy(db.c.begin() + steps * batch * hidden, db.c.end(), result.c_n.data() + row * batch * hidden);
    }
  }
  w.has_forward = true;
  ++forward_count_;
  return result;
}

template <class T>
RecurrentGradients<T> RecurrentLayer<T>::backward(TensorView<const T> d_output, TensorView<const T> d_h_n,
                                                  TensorView<const T> d_c_n) {
  const RecurrentSpec& s = spec_;
  Workspace& w = *work_;
  if (!w.has_forward) throw Error(layer_error(s, "backward called before forward"));
  const int64_t steps = w.steps, batch = w.batch, dirs = s.directions(), hidden = s.hidden_size;
  const int64_t rw = s.recurrent_width(), gh = gate_count(s.cell) * hidden, tb = steps * batch, ow = dirs * rw;
  const bool lstm = s.cell == CellKind::lstm, gru = s.cell == CellKind::gru;
  const int64_t merged = output_size();  // d_output's width; ow is the last layer's
  const Shape out_shape = options_.batch_first ? Shape{batch, steps, merged} : Shape{steps, batch, merged};
  if (d_output.data() != nullptr) check_shape(s, "d_output", d_output.shape(), out_shape, "the output's shape");
  if (d_h_n.data() != nullptr) check_shape(s, "d_h_n", d_h_n.shape(), {s.num_layers * dirs, batch, rw}, "h_n's shape");
  if (d_c_n.data() != nullptr) {
    if (!lstm) throw Error(layer_error(s, "d_c_n was given, but only an LSTM has a cell state"));
    check_shape(s, "d_c_n", d_c_n.shape(), {s.num_layers * dirs, batch, hidden}, "c_n's shape");
  }
  get_threads();

  const std::size_t widest = static_cast<std::size_t>(std::max(s.input_size, ow));
  w.d_upper.assign(static_cast<std::size_t>(tb) * widest, T(0));
  w.d_lower.assign(static_cast<std::size_t>(tb) * widest, T(0));
  w.dxg.resize(static_cast<std::size_t>(tb * gh));
  if (gru) w.dhh.resize(static_cast<std::size_t>(tb * gh));
  if (s.proj_size > 0) w.dhp.resize(static_cast<std::size_t>(tb * rw));
  w.dh.resize(static_cast<std::size_t>(batch * rw));
  w.dh_prev.resize(static_cast<std::size_t>(batch * rw));
  w.dc.resize(static_cast<std::size_t>(batch * hidden));
  w.dm.resize(static_cast<std::size_t>(batch * hidden));
  w.drh.resize(static_cast<std::size_t>(batch * hidden));
  if (dirs == 2) w.dx_reverse.resize(static_cast<std::size_t>(tb) * widest);

  // d_upper: gradient of the top layer's output (both directions), time-major.
  if (d_output.data() != nullptr) {
    const std::vector<T>& last = w.layer_out.back();
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t b = 0; b < batch; ++b) {
        const T* g = d_output.data() + (options_.batch_first ? (b * steps + t) : (t * batch + b)) * merged;
        T* dfw = w.d_upper.data() + (t * batch + b) * ow;
        T* dbw = dfw + rw;
        const T* fw = last.data() + (t * batch + b) * ow;
        const T* bw = fw + rw;
        switch (options_.merge) {
          case BidirectionalMerge::concat: std::copy(g, g + ow, dfw); break;
          case BidirectionalMerge::sum:  // out = fw + bw
            for (int64_t j = 0; j < rw; ++j) dfw[j] = dbw[j] = g[j];
            break;
          case BidirectionalMerge::mul:  // out = fw * bw
            for (int64_t j = 0; j < rw; ++j) {
              dfw[j] = g[j] * bw[j];
              dbw[j] = g[j] * fw[j];
            }
            break;
          case BidirectionalMerge::ave:  // out = (fw + bw) / 2
            for (int64_t j = 0; j < rw; ++j) dfw[j] = dbw[j] = g[j] / T(2);
            break;
        }
      }
    }
  }
  RecurrentGradients<T> grads;
  grads.d_h0 = Tensor<T>({s.num_layers * dirs, batch, rw});
  if (lstm) grads.d_c0 = Tensor<T>({s.num_layers * dirs, batch, hidden});

  for (int64_t l = s.num_layers - 1; l >= 0; --l) {
    const int64_t lin = s.layer_input_size(l);
    const T* layer_in = l == 0 ? w.input.data() : w.layer_out[l - 1].data();
    std::fill(w.d_lower.begin(), w.d_lower.begin() + tb * lin, T(0));
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = d == 1;
      DirectionBuffers<T>& db = w.dirs[l][d];
      const DirectionParams<T> p = bind_params<T>(*store_, scope_, s, l, reverse);
      const int64_t row = l * dirs + d;
      T* dh = w.dh.data();
      T* dh_prev = w.dh_prev.data();
      if (d_h_n.data() != nullptr) {
        std::copy(d_h_n.data() + row * batch * rw, d_h_n.data() + (row + 1) * batch * rw, dh);
      } else {
        std::fill(w.dh.begin(), w.dh.end(), T(0));
      }
      if (lstm) {
        if (d_c_n.data() != nullptr) {
          std::copy(d_c_n.data() + row * batch * hidden, d_c_n.data() + (row + 1) * batch * hidden, w.dc.begin());
        } else {
          std::fill(w.dc.begin(), w.dc.end(), T(0));
        }
      }
      const uint8_t* active_all = w.all_active ? nullptr : w.active.data();
      for (int64_t t = steps - 1; t >= 0; --t) {
        const uint8_t* active = active_all ? active_all + t * batch : nullptr;
        // dL/dh_t gets the output gradient at this step (only where the output was h_t).
        for (int64_t b = 0; b < batch; ++b) {
          if (t >= w.lengths[b]) continue;
          const int64_t t_out = reverse ? w.lengths[b] - 1 - t : t;
          const T* src = w.d_upper.data() + (t_out * batch + b) * ow + d * rw;
          for (int64_t j = 0; j < rw; ++j) dh[b * rw + j] += src[j];
        }
        const T* xg = db.xg.data() + t * batch * gh;
        T* dxg = w.dxg.data() + t * batch * gh;
        const T* h_prev = db.h.data() + t * batch * rw;
        if (lstm) {
          const T* dm = dh;
          if (s.proj_size > 0) {  // h_t = W_hr m_t
            T* dhp = w.dhp.data() + t * batch * rw;
            for (int64_t b = 0; b < batch; ++b) {
              const bool on = active == nullptr || active[b];
              for (int64_t j = 0; j < rw; ++j) dhp[b * rw + j] = on ? dh[b * rw + j] : T(0);
            }
            gemm_strided(false, false, batch, hidden, rw, T(1), dhp, rw, p.w_hr, hidden, T(0), w.dm.data(), hidden);
            dm = w.dm.data();
          }
          lstm_step_backward(batch, hidden, xg, db.c.data() + t * batch * hidden, db.c.data() + (t + 1) * batch * hidden,
                             dm, w.dc.data(), dxg, active);
          gemm_strided(false, false, batch, rw, gh, T(1), dxg, gh, p.w_hh, rw, T(0), dh_prev, rw);  // dA_t W_hh
        } else if (gru) {
          T* dhh = w.dhh.data() + t * batch * gh;
          if (options_.gru_reset == GruReset::after) {
            gru_step_backward(batch, hidden, xg, db.hh.data() + t * batch * gh, h_prev, dh, dxg, dhh, dh_prev, active);
            gemm_strided(false, false, batch, hidden, gh, T(1), dhh, gh, p.w_hh, hidden, T(1), dh_prev, hidden);
          } else {
            gru_before_step_backward_output(batch, hidden, xg, h_prev, dh, dxg, dhh, dh_prev, active);
            // d(r * h_{t-1}) = dhn W_hn
            gemm_strided(false, false, batch, hidden, hidden, T(1), dhh + 2 * hidden, gh, p.w_hh + 2 * hidden * hidden,
                         hidden, T(0), w.drh.data(), hidden);
            gru_before_step_backward_gates(batch, hidden, xg, h_prev, w.drh.data(), dxg, dhh, dh_prev, active);
            gemm_strided(false, false, batch, hidden, 2 * hidden, T(1), dhh, gh, p.w_hh, hidden, T(1), dh_prev, hidden);
          }
        } else {
          rnn_step_backward(batch, hidden, s.cell == CellKind::rnn_relu, db.h.data() + (t + 1) * batch * rw, dh, dxg,
                            active);
          gemm_strided(false, false, batch, rw, gh, T(1), dxg, gh, p.w_hh, rw, T(0), dh_prev, rw);
        }
        if (active != nullptr && !gru) {  // h_t = h_{t-1} past the length: dh passes through
          for (int64_t b = 0; b < batch; ++b) {
            if (!active[b]) {
              for (int64_t j = 0; j < rw; ++j) dh_prev[b * rw + j] += dh[b * rw + j];
            }
          }
        }
        std::swap(dh, dh_prev);
      }
      std::copy(dh, dh + batch * rw, grads.d_h0.data() + row * batch * rw);
      if (lstm) std::copy(w.dc.begin(), w.dc.end(), grads.d_c0.data() + row * batch * hidden);

      // Parameter gradients over all steps at once.
      const T* x = reverse ? db.x_rev.data() : layer_in;
      const T* h_hist = db.h.data();  // rows 0..T-1: h_{t-1} for step t
      gemm_strided(true, false, gh, lin, tb, T(1), w.dxg.data(), gh, x, lin, T(1), p.dw_ih, lin);
      add_column_sums(w.dxg.data(), tb, gh, gh, p.db_ih);
      if (lstm || !gru) {
        gemm_strided(true, false, gh, rw, tb, T(1), w.dxg.data(), gh, h_hist, rw, T(1), p.dw_hh, rw);
        add_column_sums(w.dxg.data(), tb, gh, gh, p.db_hh);
      } else if (options_.gru_reset == GruReset::after) {
        gemm_strided(true, false, gh, hidden, tb, T(1), w.dhh.data(), gh, h_hist, hidden, T(1), p.dw_hh, hidden);
        add_column_sums(w.dhh.data(), tb, gh, gh, p.db_hh);
      } else {
        gemm_strided(true, false, 2 * hidden, hidden, tb, T(1), w.dhh.data(), gh, h_hist, hidden, T(1), p.dw_hh, hidden);
        gemm_strided(true, false, hidden, hidden, tb, T(1), w.dhh.data() + 2 * hidden, gh, db.rh.data(), hidden, T(1),
                     p.dw_hh + 2 * hidden * hidden, hidden);
        add_column_sums(w.dhh.data(), tb, gh, gh, p.db_hh);
      }
      if (s.proj_size > 0) {
        gemm_strided(true, false, rw, hidden, tb, T(1), w.dhp.data(), rw, db.m.data(), hidden, T(1), p.dw_hr, hidden);
      }
      // Input gradient: dX = dA W_ih, un-reversed for the reverse direction.
      if (!reverse) {
        gemm_strided(false, false, tb, lin, gh, T(1), w.dxg.data(), gh, p.w_ih, lin, T(1), w.d_lower.data(), lin);
      } else {
        // beta = 0 overwrites: no need to clear the buffer first.
        gemm_strided(false, false, tb, lin, gh, T(1), w.dxg.data(), gh, p.w_ih, lin, T(0), w.dx_reverse.data(), lin);
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t t = 0; t < w.lengths[b]; ++t) {
            const T* src = w.dx_reverse.data() + (t * batch + b) * lin;
            T* dst = w.d_lower.data() + ((w.lengths[b] - 1 - t) * batch + b) * lin;
            for (int64_t j = 0; j < lin; ++j) dst[j] += src[j];
          }
        }
      }
    }
    std::swap(w.d_upper, w.d_lower);  // this layer's input gradient is the lower layer's output gradient
    if (w.dropped && l > 0) {          // through the lower layer's dropout: out * mask
      const std::vector<T>& mask = w.dropout_mask[l - 1];
      for (std::size_t i = 0; i < mask.size(); ++i) w.d_upper[i] *= mask[i];
    }
  }

  const int64_t in = s.input_size;
  grads.d_input = Tensor<T>(options_.batch_first ? Shape{batch, steps, in} : Shape{steps, batch, in});
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < batch; ++b) {
      const T* src = w.d_upper.data() + (t * batch + b) * in;
      std::copy(src, src + in, grads.d_input.data() + (options_.batch_first ? (b * steps + t) : (t * batch + b)) * in);
    }
  }
  return grads;
}

template <class T>
TensorView<const T> RecurrentLayer<T>::gate_activations(int64_t layer, int direction) const {
  const RecurrentSpec& s = spec_;
  if (s.cell == CellKind::rnn_tanh || s.cell == CellKind::rnn_relu) {
    throw Error(layer_error(s, "an RNN cell has no gates; its activation is the layer's output"));
  }
  if (!work_->has_forward) throw Error(layer_error(s, "gate activations are asked for before any forward"));
  if (layer < 0 || layer >= s.num_layers || direction < 0 || direction >= s.directions()) {
    throw Error(layer_error(s, "gate activations of layer " + std::to_string(layer) + ", direction " +
                                   std::to_string(direction) + " are asked for; the layer has " +
                                   std::to_string(s.num_layers) + " layer(s) and " +
                                   std::to_string(s.directions()) + " direction(s)"));
  }
  const Workspace& w = *work_;
  return TensorView<const T>(w.dirs[static_cast<std::size_t>(layer)][static_cast<std::size_t>(direction)].xg.data(),
                             {w.steps, w.batch, gate_count(s.cell) * s.hidden_size});
}

template class RecurrentLayer<float>;
template class RecurrentLayer<double>;

}  // namespace rnnkit

// The recurrent layer's driver: what every cell shares (recurrent_layer.h); the cells' own
// work is their policies' (cell_policy.h).
//
// Buffers per layer and direction (time-major, planned once per (T, B)):
//   x_rev [T*B, I_k]   reverse direction only: each sequence reversed within its length
//   xg    [T*B, G*H]   the input projection of all steps; each step's rows become its gate activations
//   h     [(T+1)*B, R] h[0] = h0, rows of step t+1 = the state after step t (frozen past the length)
//   kept               the policy's own (an LSTM's c, a GRU's hh, ...), 64-byte aligned
// and per layer its output [T*B, D*R] (directions side by side in either stacking). Backward
// shares one dxg [T*B, G*H], one policy scratch, and the input-gradient buffers across layers.
#include "rnnkit/layers/recurrent_layer.h"

#include <algorithm>
#include <array>
#include <new>

#include "cell_support.h"
#include "rnnkit/core/aligned_buffer.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/threads.h"

namespace rnnkit {
namespace {

// One layer and direction's variables, bound for one call (the store's buffers may move
// between calls, when variables are created).
template <class T>
struct DirectionParameters {
  MatrixView<const T> weight_ih;  // [G*H, I_k]
  const T* bias_ih = nullptr;     // [G*H], null without biases
  MatrixView<T> dweight_ih;
  T* dbias_ih = nullptr;
  CellParameters<T> cell;
};

template <class T>
DirectionParameters<T> bind_parameters(VariableStore& store, const std::string& scope, const RecurrentSpec& spec,
                                       int64_t layer, bool reverse) {
  auto var = [&](const char* kind) -> const Variable& {
    const std::string rel = recurrent_variable_name(layer, reverse, kind);
    return store.at(scope.empty() ? rel : scope + "/" + rel);
  };
  auto value = [&](const char* kind) {
    const TensorView<T> v = store.value<T>(var(kind));
    return MatrixView<const T>(v.data(), v.dim(0), v.numel() / v.dim(0));
  };
  auto grad = [&](const char* kind) {
    const TensorView<T> g = store.grad<T>(var(kind));
    return MatrixView<T>(g.data(), g.dim(0), g.numel() / g.dim(0));
  };
  DirectionParameters<T> p;
  p.weight_ih = value("weight_ih");
  p.dweight_ih = grad("weight_ih");
  p.cell.weight_hh = value("weight_hh");
  p.cell.dweight_hh = grad("weight_hh");
  if (spec.bias) {
    p.bias_ih = value("bias_ih").data();
    p.dbias_ih = grad("bias_ih").data();
    p.cell.bias_hh = value("bias_hh").data();
    p.cell.dbias_hh = grad("bias_hh").data();
  }
  if (spec.proj_size > 0) {
    p.cell.weight_hr = value("weight_hr");
    p.cell.dweight_hr = grad("weight_hr");
  }
  if (spec.peepholes) {
    p.cell.weight_peephole = value("weight_peephole");
    p.cell.dweight_peephole = grad("weight_peephole");
  }
  return p;
}

std::string layer_error(const RecurrentSpec& spec, const std::string& what) {
  return std::string(cell_name(spec.cell)) + " layer: " + what;
}

std::string dropout_stream_name(const std::string& scope) { return scope.empty() ? "dropout" : scope + "/dropout"; }

void check_shape(const RecurrentSpec& spec, const char* what, const Shape& got, const Shape& expected,
                 const char* meaning) {
  if (got != expected) {
    throw Error(layer_error(spec, std::string(what) + " has shape " + shape_to_string(got) + ", expected " +
                                      shape_to_string(expected) + " (" + meaning + ")"));
  }
}

// Where layer `layer`, direction d reads its input: columns [offset, offset + width) of rows
// of `ld` elements (layer 0: the input; above it, the layer below's output).
struct InputColumns {
  int64_t offset, width, ld;
};

InputColumns input_columns(const RecurrentSpec& spec, int64_t layer, int64_t direction) {
  if (layer == 0) return {0, spec.input_size, spec.input_size};
  const int64_t r = spec.recurrent_width(), ld = spec.directions() * r;
  if (spec.stacking == Stacking::per_direction) return {direction * r, r, ld};
  return {0, ld, ld};
}

}  // namespace

template <class T>
struct RecurrentLayer<T>::Workspace {
  struct Direction {
    std::vector<T> x_rev, xg, h;
    AlignedBuffer kept;
  };
  int64_t steps = -1, batch = -1;
  std::vector<int64_t> lengths;  // [B]
  std::vector<uint8_t> active;   // [T, B]: t < length
  bool all_active = true;
  std::vector<T> input;                   // layer 0 input, time-major [T, B, I]
  std::vector<std::vector<T>> layer_out;  // per layer [T, B, D*R]
  std::vector<std::array<Direction, 2>> dirs;
  std::vector<std::vector<T>> dropout_mask;  // per layer but the last [T, B, D*R]: 0 or 1/(1-p)
  bool dropped = false;                      // the last forward applied the masks
  std::vector<T> dxg, dh, dh_prev, d_upper, d_lower, dx_reverse;
  AlignedBuffer scratch;
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
  for (int64_t k = 0; k < spec_.num_layers * spec_.directions(); ++k) {
    cells_.push_back(make_cell_policy<T>(spec_, options_.cell));
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
  const int64_t dirs = s.directions(), rw = s.recurrent_width(), tb = steps * batch;
  const int64_t state = cells_.front()->state_width(), gw = cells_.front()->gate_width();
  if (h0.data() != nullptr)
    check_shape(s, "h0", h0.shape(), {s.num_layers * dirs, batch, rw}, "layers*directions, batch, hidden");
  if (c0.data() != nullptr) {
    if (state == 0) throw Error(layer_error(s, "c0 was given, but only an LSTM has a cell state"));
    check_shape(s, "c0", c0.shape(), {s.num_layers * dirs, batch, state}, "layers*directions, batch, hidden");
  }
  if (!lengths.empty() && static_cast<int64_t>(lengths.size()) != batch) {
    throw Error(layer_error(s, "lengths has " + std::to_string(lengths.size()) +
                                   " values, expected one per sequence (" + std::to_string(batch) + ")"));
  }
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 1 || lengths[b] > steps) {
      throw Error(layer_error(s, "lengths[" + std::to_string(b) + "] is " + std::to_string(lengths[b]) +
                                     ", expected a value in [1, " + std::to_string(steps) + "] (T)"));
    }
  }
  get_threads();  // resolve the thread default (and BLAS's) before computing

  Workspace& w = *work_;
  if (w.steps != steps || w.batch != batch) {  // plan the workspace for (T, B)
    try {
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
          typename Workspace::Direction& db = w.dirs[l][d];
          if (d == 1) db.x_rev.resize(static_cast<std::size_t>(tb * input_columns(s, l, d).width));
          db.xg.resize(static_cast<std::size_t>(tb * gw));
          db.h.resize(static_cast<std::size_t>((steps + 1) * batch * rw));
          CellPolicy<T>& cell = *cells_[l * dirs + d];
          db.kept.grow(static_cast<std::size_t>(cell.memory(steps, batch).kept) * sizeof(T));
          cell.bind_kept(db.kept.template as<T>(DTypeOf<T>::value), steps, batch);
        }
      }
    } catch (const std::bad_alloc&) {
      w = Workspace{};  // unplanned: the next call plans again
      throw Error(layer_error(s, "out of memory planning the workspace for T=" + std::to_string(steps) + ", B=" +
                                     std::to_string(batch) + " (it keeps every step's gates and states for backward)"));
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
    const T* layer_in = l == 0 ? w.input.data() : w.layer_out[l - 1].data();
    T* out = w.layer_out[l].data();
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = d == 1;
      typename Workspace::Direction& db = w.dirs[l][d];
      CellPolicy<T>& cell = *cells_[l * dirs + d];
      const DirectionParameters<T> p = bind_parameters<T>(*store_, scope_, s, l, reverse);
      const InputColumns cols = input_columns(s, l, d);
      MatrixView<const T> x(layer_in + cols.offset, tb, cols.width, cols.ld);
      if (reverse) {  // x_rev[t, b] = x[len_b - 1 - t, b] for t < len_b, zero after
        std::fill(db.x_rev.begin(), db.x_rev.end(), T(0));
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t t = 0; t < w.lengths[b]; ++t) {
            const T* src = x.row((w.lengths[b] - 1 - t) * batch + b);
            std::copy(src, src + cols.width, db.x_rev.data() + (t * batch + b) * cols.width);
          }
        }
        x = MatrixView<const T>(db.x_rev.data(), tb, cols.width);
      }
      // The input projection of all steps: xg = X W_ih^T + b_ih (+ what of b_hh adds linearly).
      const MatrixView<T> xg(db.xg.data(), tb, gw);
      matmul(xg, x, p.weight_ih.t());
      if (p.bias_ih != nullptr) detail::add_to_rows(xg, p.bias_ih);
      cell.fold_recurrent_bias(xg, p.cell);
      // Initial state.
      const int64_t row = l * dirs + d;
      if (h0.data() != nullptr) {
        std::copy(h0.data() + row * batch * rw, h0.data() + (row + 1) * batch * rw, db.h.begin());
      } else {
        std::fill(db.h.begin(), db.h.begin() + batch * rw, T(0));
      }
      cell.begin_forward(c0.data() != nullptr ? c0.data() + row * batch * state : nullptr);
      const MatrixView<T> h(db.h.data(), (steps + 1) * batch, rw);
      const uint8_t* active_all = w.all_active ? nullptr : w.active.data();
      for (int64_t t = 0; t < steps; ++t) {
        const uint8_t* active = active_all ? active_all + t * batch : nullptr;
        const MatrixView<T> h_prev = h.row_range(t * batch, batch), h_t = h.row_range((t + 1) * batch, batch);
        cell.forward_step(t, p.cell, xg.row_range(t * batch, batch), h_prev, h_t, active);
        for (int64_t b = 0; active != nullptr && b < batch; ++b) {  // past the length, h_t = h_{t-1}
          if (!active[b]) std::copy(h_prev.row(b), h_prev.row(b) + rw, h_t.row(b));
        }
      }
      // Output: the direction's h_t in the layer output's d-th block, zero past the length.
      for (int64_t t = 0; t < steps; ++t) {
        for (int64_t b = 0; b < batch; ++b) {
          const bool on = t < w.lengths[b];
          const int64_t t_out = reverse && on ? w.lengths[b] - 1 - t : t;
          T* dst = out + (t_out * batch + b) * dirs * rw + d * rw;
          if (on) {
            const T* src = h.row((t + 1) * batch + b);
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
        case BidirectionalMerge::sum:
          for (int64_t j = 0; j < rw; ++j) dst[j] = fw[j] + bw[j];
          break;
        case BidirectionalMerge::mul:
          for (int64_t j = 0; j < rw; ++j) dst[j] = fw[j] * bw[j];
          break;
        case BidirectionalMerge::ave:
          for (int64_t j = 0; j < rw; ++j) dst[j] = (fw[j] + bw[j]) / T(2);
          break;
      }
    }
  }
  result.h_n = Tensor<T>({s.num_layers * dirs, batch, rw});
  if (state > 0) result.c_n = Tensor<T>({s.num_layers * dirs, batch, state});
  for (int64_t l = 0; l < s.num_layers; ++l) {
    for (int64_t d = 0; d < dirs; ++d) {
      const typename Workspace::Direction& db = w.dirs[l][d];
      const int64_t row = l * dirs + d;
      std::copy(db.h.begin() + steps * batch * rw, db.h.end(), result.h_n.data() + row * batch * rw);
      if (state > 0) cells_[row]->final_state(result.c_n.data() + row * batch * state);
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
  const int64_t steps = w.steps, batch = w.batch, dirs = s.directions(), tb = steps * batch;
  const int64_t rw = s.recurrent_width(), ow = dirs * rw;
  const int64_t state = cells_.front()->state_width(), gw = cells_.front()->gate_width();
  const int64_t merged = output_size();  // d_output's width; ow is the last layer's
  const Shape out_shape = options_.batch_first ? Shape{batch, steps, merged} : Shape{steps, batch, merged};
  if (d_output.data() != nullptr) check_shape(s, "d_output", d_output.shape(), out_shape, "the output's shape");
  if (d_h_n.data() != nullptr) check_shape(s, "d_h_n", d_h_n.shape(), {s.num_layers * dirs, batch, rw}, "h_n's shape");
  if (d_c_n.data() != nullptr) {
    if (state == 0) throw Error(layer_error(s, "d_c_n was given, but only an LSTM has a cell state"));
    check_shape(s, "d_c_n", d_c_n.shape(), {s.num_layers * dirs, batch, state}, "c_n's shape");
  }
  get_threads();

  const std::size_t widest = static_cast<std::size_t>(std::max(s.input_size, ow));
  w.d_upper.assign(static_cast<std::size_t>(tb) * widest, T(0));
  w.d_lower.assign(static_cast<std::size_t>(tb) * widest, T(0));
  w.dxg.resize(static_cast<std::size_t>(tb * gw));
  w.dh.resize(static_cast<std::size_t>(batch * rw));
  w.dh_prev.resize(static_cast<std::size_t>(batch * rw));
  if (dirs == 2) w.dx_reverse.resize(static_cast<std::size_t>(tb) * widest);
  int64_t scratch = 0;
  for (const auto& cell : cells_) scratch = std::max(scratch, cell->memory(steps, batch).scratch);
  try {
    w.scratch.grow(static_cast<std::size_t>(scratch) * sizeof(T));
  } catch (const std::bad_alloc&) {
    throw Error(layer_error(s, "out of memory: backward's scratch for T=" + std::to_string(steps) +
                                   ", B=" + std::to_string(batch) + " needs " + std::to_string(scratch) + " values"));
  }

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
  if (state > 0) grads.d_c0 = Tensor<T>({s.num_layers * dirs, batch, state});

  for (int64_t l = s.num_layers - 1; l >= 0; --l) {
    const T* layer_in = l == 0 ? w.input.data() : w.layer_out[l - 1].data();
    const int64_t lower_width = l == 0 ? s.input_size : ow;  // the row width of this layer's input
    std::fill(w.d_lower.begin(), w.d_lower.begin() + tb * lower_width, T(0));
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = d == 1;
      typename Workspace::Direction& db = w.dirs[l][d];
      CellPolicy<T>& cell = *cells_[l * dirs + d];
      const DirectionParameters<T> p = bind_parameters<T>(*store_, scope_, s, l, reverse);
      const int64_t row = l * dirs + d;
      T* dh = w.dh.data();
      T* dh_prev = w.dh_prev.data();
      if (d_h_n.data() != nullptr) {
        std::copy(d_h_n.data() + row * batch * rw, d_h_n.data() + (row + 1) * batch * rw, dh);
      } else {
        std::fill(w.dh.begin(), w.dh.end(), T(0));
      }
      cell.begin_backward(w.scratch.template as<T>(DTypeOf<T>::value),
                          d_c_n.data() != nullptr ? d_c_n.data() + row * batch * state : nullptr);
      const MatrixView<const T> xg(db.xg.data(), tb, gw), h(db.h.data(), (steps + 1) * batch, rw);
      const MatrixView<T> dxg(w.dxg.data(), tb, gw);
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
        const MatrixView<T> dh_prev_t(dh_prev, batch, rw);
        cell.backward_step(t, p.cell, xg.row_range(t * batch, batch), h.row_range(t * batch, batch),
                           h.row_range((t + 1) * batch, batch), MatrixView<const T>(dh, batch, rw),
                           dxg.row_range(t * batch, batch), dh_prev_t, active);
        for (int64_t b = 0; active != nullptr && b < batch; ++b) {  // h_t = h_{t-1} past the length
          if (!active[b]) {
            for (int64_t j = 0; j < rw; ++j) dh_prev[b * rw + j] += dh[b * rw + j];
          }
        }
        std::swap(dh, dh_prev);
      }
      std::copy(dh, dh + batch * rw, grads.d_h0.data() + row * batch * rw);
      cell.end_backward(p.cell, dxg, h.row_range(0, tb), state > 0 ? grads.d_c0.data() + row * batch * state : nullptr);

      // The input side over all steps at once: dW_ih += dxg^T X, db_ih += sum dxg, dX = dxg W_ih.
      const InputColumns cols = input_columns(s, l, d);
      const MatrixView<const T> x = reverse ? MatrixView<const T>(db.x_rev.data(), tb, cols.width)
                                            : MatrixView<const T>(layer_in + cols.offset, tb, cols.width, cols.ld);
      matmul_add(p.dweight_ih, MatrixView<const T>(dxg).t(), x);
      if (p.dbias_ih != nullptr) detail::add_column_sums(MatrixView<const T>(dxg), p.dbias_ih);
      const MatrixView<T> d_lower(w.d_lower.data() + cols.offset, tb, cols.width, cols.ld);
      if (!reverse) {
        matmul_add(d_lower, dxg, p.weight_ih);
      } else {  // computed in reversed time, then added back in time order
        const MatrixView<T> dx(w.dx_reverse.data(), tb, cols.width);
        matmul(dx, dxg, p.weight_ih);
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t t = 0; t < w.lengths[b]; ++t) {
            const T* src = dx.row(t * batch + b);
            T* dst = d_lower.row((w.lengths[b] - 1 - t) * batch + b);
            for (int64_t j = 0; j < cols.width; ++j) dst[j] += src[j];
          }
        }
      }
    }
    std::swap(w.d_upper, w.d_lower);  // this layer's input gradient is the lower layer's output gradient
    if (w.dropped && l > 0) {         // through the lower layer's dropout: out * mask
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
                                   std::to_string(s.num_layers) + " layer(s) and " + std::to_string(s.directions()) +
                                   " direction(s)"));
  }
  const Workspace& w = *work_;
  return TensorView<const T>(w.dirs[static_cast<std::size_t>(layer)][static_cast<std::size_t>(direction)].xg.data(),
                             {w.steps, w.batch, cells_.front()->gate_width()});
}

template class RecurrentLayer<float>;
template class RecurrentLayer<double>;

}  // namespace rnnkit

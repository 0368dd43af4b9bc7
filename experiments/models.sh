# The model set the experiments compare, as [model] sections of rnnkit run configs
# (docs/config.md). Sourced by adding.sh and copy_memory.sh.
#   model_names                 the names, in table order
#   model_section NAME T        prints the [model] section for sequences of length T
# Every model has 64 units in one layer; only the cell and its initialization differ.

model_names=(rnn_tanh rnn_tanh_orthogonal irnn lstm_forget0 lstm_forget1 lstm_chrono gru)

model_section() {
  local name=$1 steps=$2
  printf '[model]\nscope = "m"\nhidden_size = 64\nembedding_size = 16\n'
  case "$name" in
    # PyTorch's nn.RNN as constructed: every weight and bias U(-1/sqrt(H), 1/sqrt(H)).
    rnn_tanh) printf 'cell = "rnn_tanh"\npreset = "pytorch"\n' ;;
    # Keras' SimpleRNN: Glorot-uniform input weights, orthogonal recurrent matrix, zero bias.
    rnn_tanh_orthogonal) printf 'cell = "rnn_tanh"\npreset = "keras"\n' ;;
    # IRNN (Le, Jaitly and Hinton 2015): ReLU, identity recurrent matrix, zero bias,
    # input weights N(0, 0.001^2).
    irnn) printf 'cell = "rnn_relu"\npreset = "keras"\nrecurrent_init = "identity"\nkernel_init = "normal(stddev=0.001)"\n' ;;
    # Keras' LSTM (Glorot input weights, orthogonal recurrent, zero biases) with the
    # forget gate bias at 0 or at 1 (unit_forget_bias, Jozefowicz et al. 2015).
    lstm_forget0) printf 'cell = "lstm"\npreset = "keras"\nforget_bias = 0.0\n' ;;
    lstm_forget1) printf 'cell = "lstm"\npreset = "keras"\nforget_bias = 1.0\n' ;;
    # Chrono initialization (Tallec and Ollivier 2018): b_f = log U(1, T-1), b_i = -b_f.
    lstm_chrono) printf 'cell = "lstm"\npreset = "keras"\nbias_init = "chrono(t_max=%d)"\n' "$steps" ;;
    # Keras' GRU (reset after, as PyTorch): Glorot, orthogonal, zero biases.
    gru) printf 'cell = "gru"\npreset = "keras"\n' ;;
    *) echo "unknown model '$name'; expected one of ${model_names[*]}" >&2; return 2 ;;
  esac
}

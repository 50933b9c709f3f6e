// Bindings of kiln/random.h as the submodule kiln.core.random, with mlx.core.random's names,
// arguments and defaults.
#include "kiln/random.h"

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

namespace {

using OptKey = std::optional<array>;

// dtype defaults are None in the binding (the signatures show MLX's float32/int32): a Dtype
// instance held as a default value outlives the module at interpreter exit (nanobind reports it
// as leaked).

array as_array(nb::handle h) { return to_array(h); }

// The global key state Python sees: the list `kiln.core.random.state` holding one key array.
// Functions given no key split it with ordinary graph ops (the first half becomes the new state,
// the second is used), so `compile(..., inputs=mx.random.state, outputs=mx.random.state)`
// carries the state through compiled functions.
nb::handle g_state;  // borrowed: the module attribute owns the list

OptKey draw(const OptKey& key) {
  if (key) return key;
  array k = nb::cast<array>(g_state[0]);
  array halves = random::split(k, 2);
  g_state[0] = nb::cast(reshape(slice(halves, {0, 0}, {1, 2}), {2}));
  return reshape(slice(halves, {1, 0}, {2, 2}), {2});
}

#define KILN_KEY_DOC "    key (array, optional): A PRNG key; by default the global key state is advanced.\n"

}  // namespace

void init_random(nb::module_& parent) {
  auto m = parent.def_submodule(
      "random",
      "Random number generation with splittable Threefry-2x32 keys: the same key gives the same "
      "numbers on every device. Functions given no key use (and advance) a global key state.");
  nb::list state;
  state.append(nb::cast(random::next_key()));  // seeded from the clock, as the C++ state
  m.attr("state") = state;
  g_state = m.attr("state");

  m.def(
      "key", [](uint64_t seed) { return random::key(seed); }, "seed"_a,
      "A PRNG key from a seed.\n\nArgs:\n    seed (int): A non-negative seed below 2**64.\n\n"
      "Returns:\n    array: A uint32 array of shape ``(2,)``.");
  m.def(
      "seed",
      [](uint64_t seed) {
        random::seed(seed);
        g_state[0] = nb::cast(random::key(seed));
      },
      "seed"_a,
      "Seeds the global PRNG key state.\n\nArgs:\n    seed (int): A non-negative seed below 2**64.");
  m.def(
      "split", [](const array& key, int num, StreamOrDevice s) { return random::split(key, num, s); }, "key"_a,
      "num"_a = 2, "stream"_a = nb::none(),
      "Splits a key into ``num`` new keys.\n\nArgs:\n    key (array): The key to split.\n    num (int): "
      "Number of keys.\n\nReturns:\n    array: The keys, shape ``(num, 2)``.");
  m.def(
      "bits",
      [](const Shape& shape, int width, const OptKey& key, StreamOrDevice s) {
        return random::bits(shape, width, draw(key), s);
      },
      "shape"_a = Shape{}, "width"_a = 4, "key"_a = nb::none(), "stream"_a = nb::none(),
      "Raw random bits.\n\nArgs:\n    shape (Sequence[int]): Output shape.\n    width (int): Bytes per "
      "element: 1, 2 or 4 (uint8, uint16, uint32).\n" KILN_KEY_DOC "\nReturns:\n    array");
  m.def(
      "uniform",
      [](ScalarOrArray low, ScalarOrArray high, const Shape& shape, std::optional<Dtype> dtype, const OptKey& key,
         StreamOrDevice s) {
        return random::uniform(as_array(low.h), as_array(high.h), shape, dtype.value_or(float32), draw(key), s);
      },
      "low"_a = 0, "high"_a = 1, "shape"_a = Shape{}, "dtype"_a = nb::none(), "key"_a = nb::none(),
      "stream"_a = nb::none(),
      nb::sig("def uniform(low: scalar | array = 0, high: scalar | array = 1, shape: Sequence[int] = [], "
              "dtype: Dtype | None = float32, key: array | None = None, stream: Stream | Device | None = None) "
              "-> array"),
      "Uniform values in the half-open interval ``[low, high)``.\n\nArgs:\n    low (scalar | array): Lower "
      "bound.\n    high (scalar | array): Upper bound (excluded).\n    shape (Sequence[int]): Output shape; "
      "``low`` and ``high`` broadcast to it.\n    dtype (Dtype): A floating point type.\n" KILN_KEY_DOC
      "\nReturns:\n    array");
  m.def(
      "normal",
      [](const Shape& shape, std::optional<Dtype> dtype, std::optional<ScalarOrArray> loc,
         std::optional<ScalarOrArray> scale, const OptKey& key, StreamOrDevice s) {
        std::optional<array> l, sc;
        if (loc && !loc->h.is_none()) l = as_array(loc->h);
        if (scale && !scale->h.is_none()) sc = as_array(scale->h);
        return random::normal(shape, dtype.value_or(float32), l, sc, draw(key), s);
      },
      "shape"_a = Shape{}, "dtype"_a = nb::none(), "loc"_a = nb::none(), "scale"_a = nb::none(), "key"_a = nb::none(),
      "stream"_a = nb::none(),
      nb::sig("def normal(shape: Sequence[int] = [], dtype: Dtype | None = float32, loc: scalar | array | None = "
              "None, scale: scalar | array | None = None, key: array | None = None, stream: Stream | Device | "
              "None = None) -> array"),
      "Normal values with mean ``loc`` and standard deviation ``scale``.\n\nArgs:\n    shape (Sequence[int]): "
      "Output shape.\n    dtype (Dtype): A floating point type.\n    loc (scalar | array, optional): Mean, "
      "0 by default.\n    scale (scalar | array, optional): Standard deviation, 1 by default.\n" KILN_KEY_DOC
      "\nReturns:\n    array");
  m.def(
      "randint",
      [](ScalarOrArray low, ScalarOrArray high, const Shape& shape, std::optional<Dtype> dtype, const OptKey& key,
         StreamOrDevice s) {
        return random::randint(as_array(low.h), as_array(high.h), shape, dtype.value_or(int32), draw(key), s);
      },
      "low"_a, "high"_a, "shape"_a = Shape{}, "dtype"_a = nb::none(), "key"_a = nb::none(), "stream"_a = nb::none(),
      nb::sig("def randint(low: scalar | array, high: scalar | array, shape: Sequence[int] = [], dtype: Dtype | "
              "None = int32, key: array | None = None, stream: Stream | Device | None = None) -> array"),
      "Random integers in ``[low, high)``.\n\nArgs:\n    low (scalar | array): Lower bound.\n    high "
      "(scalar | array): Upper bound (excluded).\n    shape (Sequence[int]): Output shape.\n    dtype "
      "(Dtype): An integer type or bool.\n" KILN_KEY_DOC "\nReturns:\n    array");
  m.def(
      "bernoulli",
      [](ScalarOrArray p, std::optional<Shape> shape, const OptKey& key, StreamOrDevice s) {
        array pa = as_array(p.h);
        return shape ? random::bernoulli(pa, *shape, draw(key), s) : random::bernoulli(pa, draw(key), s);
      },
      "p"_a = 0.5, "shape"_a = nb::none(), "key"_a = nb::none(), "stream"_a = nb::none(),
      nb::sig("def bernoulli(p: scalar | array = 0.5, shape: Sequence[int] | None = None, key: array | None = "
              "None, stream: Stream | Device | None = None) -> array"),
      "Booleans that are ``True`` with probability ``p``.\n\nArgs:\n    p (scalar | array): A floating point "
      "probability.\n    shape (Sequence[int], optional): Output shape; that of ``p`` by default.\n" KILN_KEY_DOC
      "\nReturns:\n    array");
  m.def(
      "truncated_normal",
      [](ScalarOrArray lower, ScalarOrArray upper, std::optional<Shape> shape, std::optional<Dtype> dtype,
         const OptKey& key, StreamOrDevice s) {
        array lo = as_array(lower.h), hi = as_array(upper.h);
        Dtype t = dtype.value_or(float32);
        return shape ? random::truncated_normal(lo, hi, *shape, t, draw(key), s) : random::truncated_normal(lo, hi, t, draw(key), s);
      },
      "lower"_a, "upper"_a, "shape"_a = nb::none(), "dtype"_a = nb::none(), "key"_a = nb::none(),
      "stream"_a = nb::none(),
      nb::sig("def truncated_normal(lower: scalar | array, upper: scalar | array, shape: Sequence[int] | None = "
              "None, dtype: Dtype | None = float32, key: array | None = None, stream: Stream | Device | None = "
              "None) -> array"),
      "Standard normal values truncated to ``[lower, upper]``.\n\nArgs:\n    lower (scalar | array): Lower "
      "bound.\n    upper (scalar | array): Upper bound.\n    shape (Sequence[int], optional): Output shape; the "
      "broadcast shape of the bounds by default.\n    dtype (Dtype): A floating point type.\n" KILN_KEY_DOC
      "\nReturns:\n    array");
  m.def(
      "gumbel",
      [](const Shape& shape, std::optional<Dtype> dtype, const OptKey& key, StreamOrDevice s) {
        return random::gumbel(shape, dtype.value_or(float32), draw(key), s);
      },
      "shape"_a = Shape{}, "dtype"_a = nb::none(), "key"_a = nb::none(), "stream"_a = nb::none(),
      nb::sig("def gumbel(shape: Sequence[int] = [], dtype: Dtype | None = float32, key: array | None = None, "
              "stream: Stream | Device | None = None) -> array"),
      "Standard Gumbel values.\n\nArgs:\n    shape (Sequence[int]): Output shape.\n    dtype (Dtype): A "
      "floating point type.\n" KILN_KEY_DOC "\nReturns:\n    array");
  m.def(
      "laplace",
      [](const Shape& shape, std::optional<Dtype> dtype, double loc, double scale, const OptKey& key,
         StreamOrDevice s) { return random::laplace(shape, dtype.value_or(float32), loc, scale, draw(key), s); },
      "shape"_a = Shape{}, "dtype"_a = nb::none(), "loc"_a = 0.0, "scale"_a = 1.0, "key"_a = nb::none(),
      "stream"_a = nb::none(),
      nb::sig("def laplace(shape: Sequence[int] = [], dtype: Dtype | None = float32, loc: float = 0.0, "
              "scale: float = 1.0, key: array | None = None, stream: Stream | Device | None = None) -> array"),
      "Laplace values.\n\nArgs:\n    shape (Sequence[int]): Output shape.\n    dtype (Dtype): A floating point "
      "type.\n    loc (float): Location.\n    scale (float): Scale.\n" KILN_KEY_DOC "\nReturns:\n    array");
  m.def(
      "categorical",
      [](const array& logits, int axis, std::optional<Shape> shape, std::optional<int> num_samples, const OptKey& key,
         StreamOrDevice s) {
        if (shape && num_samples) {
          throw std::invalid_argument("[categorical] At most one of shape or num_samples can be specified.");
        }
        if (shape) return random::categorical(logits, axis, *shape, draw(key), s);
        if (num_samples) return random::categorical_num_samples(logits, axis, *num_samples, draw(key), s);
        return random::categorical(logits, axis, draw(key), s);
      },
      "logits"_a, "axis"_a = -1, "shape"_a = nb::none(), "num_samples"_a = nb::none(), "key"_a = nb::none(),
      "stream"_a = nb::none(),
      "Samples category indices (uint32) from unnormalized log-probabilities.\n\nArgs:\n    logits (array): "
      "Log-probabilities, up to a constant, along ``axis``.\n    axis (int): The category axis.\n    shape "
      "(Sequence[int], optional): Output shape; must broadcast with the logits' shape without ``axis``.\n"
      "    num_samples (int, optional): Draws per distribution, as a last output axis.\n" KILN_KEY_DOC
      "\nReturns:\n    array");
  m.def(
      "multivariate_normal",
      [](const array& mean, const array& cov, const Shape& shape, std::optional<Dtype> dtype, const OptKey& key,
         StreamOrDevice s) { return random::multivariate_normal(mean, cov, shape, dtype.value_or(float32), draw(key), s); },
      "mean"_a, "cov"_a, "shape"_a = Shape{}, "dtype"_a = nb::none(), "key"_a = nb::none(), "stream"_a = nb::none(),
      nb::sig("def multivariate_normal(mean: array, cov: array, shape: Sequence[int] = [], dtype: Dtype | None = "
              "float32, key: array | None = None, stream: Stream | Device | None = None) -> array"),
      "Draws from a multivariate normal distribution.\n\nArgs:\n    mean (array): Means, shape ``(..., n)``.\n"
      "    cov (array): Symmetric positive semi-definite covariances, shape ``(..., n, n)``.\n    shape "
      "(Sequence[int]): Batch shape; broadcast with those of ``mean`` and ``cov``.\n    dtype (Dtype): float32 "
      "or float64.\n" KILN_KEY_DOC "\nReturns:\n    array: Shape ``batch + (n,)``.");
  m.def(
      "permutation",
      [](nb::handle x, int axis, const OptKey& key, StreamOrDevice s) {
        if (PyLong_Check(x.ptr())) return random::permutation(nb::cast<int>(x), draw(key), s);
        return random::permutation(as_array(x), axis, draw(key), s);
      },
      "x"_a, "axis"_a = 0, "key"_a = nb::none(), "stream"_a = nb::none(),
      nb::sig("def permutation(x: int | array, axis: int = 0, key: array | None = None, stream: Stream | Device | "
              "None = None) -> array"),
      "A random permutation of ``range(x)`` (uint32), or ``x`` shuffled along ``axis``.\n\nArgs:\n    x "
      "(int | array): A length or the array to shuffle.\n    axis (int): The axis to shuffle.\n" KILN_KEY_DOC
      "\nReturns:\n    array");
}

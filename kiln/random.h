// Random numbers: splittable counter-based keys (Threefry-2x32) and the distributions of
// mlx.core.random. A key is a uint32 array of shape (2,); functions given no key take a fresh
// one from a global state that each call advances by splitting.
#pragma once

#include <optional>
#include <utility>

#include "kiln/array.h"
#include "kiln/stream.h"

namespace kiln::random {

/** The key for `seed`: (seed >> 32, seed & 0xffffffff) as uint32. */
KILN_API array key(uint64_t seed);
/** Reseeds the global key state. */
KILN_API void seed(uint64_t seed);
/** A fresh key from the global state (which advances). */
KILN_API array next_key();
/** `num` new keys derived from `key`, shape (num, 2). */
KILN_API array split(const array& key, int num, StreamOrDevice s = {});
/** Two new keys derived from `key`. */
KILN_API std::pair<array, array> split(const array& key, StreamOrDevice s = {});

/** Raw random bits: uint8, uint16 or uint32 for `width` 1, 2 or 4 bytes. */
KILN_API array bits(const Shape& shape, int width = 4, const std::optional<array>& key = std::nullopt,
                    StreamOrDevice s = {});

/** Uniform values in [low, high); low and high broadcast to `shape`. */
KILN_API array uniform(const array& low, const array& high, const Shape& shape, Dtype dtype = float32,
                       const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});
/** Uniform values in [0, 1). */
KILN_API array uniform(const Shape& shape, Dtype dtype = float32, const std::optional<array>& key = std::nullopt,
                       StreamOrDevice s = {});

/** Normal values with mean `loc` and standard deviation `scale` (each broadcast to `shape`). */
KILN_API array normal(const Shape& shape, Dtype dtype, const std::optional<array>& loc,
                      const std::optional<array>& scale, const std::optional<array>& key = std::nullopt,
                      StreamOrDevice s = {});
KILN_API array normal(const Shape& shape, Dtype dtype = float32, double loc = 0.0, double scale = 1.0,
                      const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});

/** Integers in [low, high) (low when high <= low); integer or bool `dtype`. */
KILN_API array randint(const array& low, const array& high, const Shape& shape, Dtype dtype = int32,
                       const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});

/** Booleans that are true with probability `p` (floating, broadcast to `shape`). */
KILN_API array bernoulli(const array& p, const Shape& shape, const std::optional<array>& key = std::nullopt,
                         StreamOrDevice s = {});
/** Booleans of p's shape, true with probability p. */
KILN_API array bernoulli(const array& p, const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});
/** One fair coin flip. */
KILN_API array bernoulli(const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});

/** Standard normal values restricted to [lower, upper] (broadcast to `shape`). */
KILN_API array truncated_normal(const array& lower, const array& upper, const Shape& shape, Dtype dtype = float32,
                                const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});
/** truncated_normal of the broadcast shape of lower and upper. */
KILN_API array truncated_normal(const array& lower, const array& upper, Dtype dtype = float32,
                                const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});

/** Standard Gumbel values. */
KILN_API array gumbel(const Shape& shape, Dtype dtype = float32, const std::optional<array>& key = std::nullopt,
                      StreamOrDevice s = {});

/** Laplace values with location `loc` and scale `scale`. */
KILN_API array laplace(const Shape& shape, Dtype dtype = float32, double loc = 0.0, double scale = 1.0,
                       const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});

/** uint32 category indices drawn from unnormalized log-probabilities along `axis`; the output
 *  has `shape`, which must broadcast with the logits' shape without `axis`. */
KILN_API array categorical(const array& logits, int axis, const Shape& shape,
                           const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});
/** `num_samples` draws per distribution, as a last axis. */
KILN_API array categorical_num_samples(const array& logits, int axis, int num_samples,
                                       const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});
/** One draw per distribution. */
KILN_API array categorical(const array& logits, int axis = -1, const std::optional<array>& key = std::nullopt,
                           StreamOrDevice s = {});

/** Draws from N(mean, cov): mean (..., n), cov (..., n, n) symmetric positive semi-definite; the
 *  output has shape broadcast(shape, mean's and cov's batch shapes) + (n,). */
KILN_API array multivariate_normal(const array& mean, const array& cov, const Shape& shape, Dtype dtype = float32,
                                   const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});

/** A random permutation of 0..n-1 (uint32). */
KILN_API array permutation(int n, const std::optional<array>& key = std::nullopt, StreamOrDevice s = {});
/** `x` shuffled along `axis`. */
KILN_API array permutation(const array& x, int axis = 0, const std::optional<array>& key = std::nullopt,
                           StreamOrDevice s = {});

}  // namespace kiln::random

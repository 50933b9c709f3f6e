// Discrete Fourier transforms (kiln.core.fft): complex, real-input and real-output transforms
// over one, two or any number of axes, of any length, batched over the other axes. Results are
// complex64 (float32 for the inverse real transforms); inputs of other dtypes are converted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/array.h"
#include "kiln/stream.h"

namespace kiln::fft {

/** Scaling of the forward/inverse pair: "backward" (inverse by 1/n), "ortho" (both by
 *  1/sqrt(n)), "forward" (forward by 1/n). */
enum class FFTNorm { Backward, Ortho, Forward };

/** 1-D DFT along `axis`, the input cut or zero-padded to `n` points. */
KILN_API array fft(const array& a, int n, int axis, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** 1-D DFT along `axis` over its full length. */
KILN_API array fft(const array& a, int axis = -1, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** Inverse 1-D DFT along `axis`, the input cut or zero-padded to `n` points. */
KILN_API array ifft(const array& a, int n, int axis, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** Inverse 1-D DFT along `axis` over its full length. */
KILN_API array ifft(const array& a, int axis = -1, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** DFT of real input along `axis` (cut/padded to `n`): the n / 2 + 1 non-negative frequencies. */
KILN_API array rfft(const array& a, int n, int axis, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** DFT of real input along `axis`: the non-negative frequencies. */
KILN_API array rfft(const array& a, int axis = -1, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** Inverse of rfft: `n` real points along `axis` from the n / 2 + 1 non-negative frequencies. */
KILN_API array irfft(const array& a, int n, int axis, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** Inverse of rfft with n = 2 * (a.shape(axis) - 1) real outputs. */
KILN_API array irfft(const array& a, int axis = -1, FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});

/** n-D DFT over `axes`, each cut or zero-padded to the matching size in `n`. */
KILN_API array fftn(const array& a, const Shape& n, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                    StreamOrDevice s = {});
/** n-D DFT over `axes` at their full lengths. */
KILN_API array fftn(const array& a, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                    StreamOrDevice s = {});
/** n-D DFT over every axis. */
KILN_API array fftn(const array& a, StreamOrDevice s = {});
/** Inverse n-D DFT over `axes`, each cut or zero-padded to the matching size in `n`. */
KILN_API array ifftn(const array& a, const Shape& n, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                     StreamOrDevice s = {});
/** Inverse n-D DFT over `axes` at their full lengths. */
KILN_API array ifftn(const array& a, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                     StreamOrDevice s = {});
/** Inverse n-D DFT over every axis. */
KILN_API array ifftn(const array& a, StreamOrDevice s = {});
/** n-D DFT of real input over `axes` (sizes `n`); the last axis keeps n / 2 + 1 frequencies. */
KILN_API array rfftn(const array& a, const Shape& n, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                     StreamOrDevice s = {});
/** n-D DFT of real input over `axes` at their full lengths. */
KILN_API array rfftn(const array& a, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                     StreamOrDevice s = {});
/** n-D DFT of real input over every axis. */
KILN_API array rfftn(const array& a, StreamOrDevice s = {});
/** Inverse of rfftn: real output of sizes `n` over `axes`. */
KILN_API array irfftn(const array& a, const Shape& n, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                      StreamOrDevice s = {});
/** Inverse of rfftn over `axes`; the last axis gives 2 * (m - 1) real outputs. */
KILN_API array irfftn(const array& a, const std::vector<int>& axes, FFTNorm norm = FFTNorm::Backward,
                      StreamOrDevice s = {});
/** Inverse of rfftn over every axis. */
KILN_API array irfftn(const array& a, StreamOrDevice s = {});

/** 2-D DFT over `axes` with sizes `n`. */
KILN_API array fft2(const array& a, const Shape& n, const std::vector<int>& axes,
                    FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** 2-D DFT over `axes` (default the last two). */
KILN_API array fft2(const array& a, const std::vector<int>& axes = {-2, -1}, FFTNorm norm = FFTNorm::Backward,
                    StreamOrDevice s = {});
/** Inverse 2-D DFT over `axes` with sizes `n`. */
KILN_API array ifft2(const array& a, const Shape& n, const std::vector<int>& axes,
                     FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** Inverse 2-D DFT over `axes` (default the last two). */
KILN_API array ifft2(const array& a, const std::vector<int>& axes = {-2, -1}, FFTNorm norm = FFTNorm::Backward,
                     StreamOrDevice s = {});
/** 2-D DFT of real input over `axes` with sizes `n`. */
KILN_API array rfft2(const array& a, const Shape& n, const std::vector<int>& axes,
                     FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** 2-D DFT of real input over `axes` (default the last two). */
KILN_API array rfft2(const array& a, const std::vector<int>& axes = {-2, -1}, FFTNorm norm = FFTNorm::Backward,
                     StreamOrDevice s = {});
/** Inverse of rfft2: real output of sizes `n` over `axes`. */
KILN_API array irfft2(const array& a, const Shape& n, const std::vector<int>& axes,
                      FFTNorm norm = FFTNorm::Backward, StreamOrDevice s = {});
/** Inverse of rfft2 over `axes` (default the last two). */
KILN_API array irfft2(const array& a, const std::vector<int>& axes = {-2, -1}, FFTNorm norm = FFTNorm::Backward,
                      StreamOrDevice s = {});

/** Short-time Fourier transform of the last axis: frames of `n_fft` points `hop_length` apart
 *  (default n_fft / 4), times `window` (default ones(win_length), win_length defaulting to n_fft;
 *  centred and zero-padded to n_fft), transformed. `center` pads n_fft / 2 points at both ends
 *  (pad_mode "reflect", "constant" or "edge"). `onesided` (default: real input) keeps the
 *  n_fft / 2 + 1 non-negative frequencies. Result (..., n_freq, n_frames), complex64. */
KILN_API array stft(const array& x, int n_fft = 2048, std::optional<int> hop_length = std::nullopt,
                    std::optional<int> win_length = std::nullopt, std::optional<array> window = std::nullopt,
                    bool center = true, const std::string& pad_mode = "reflect", FFTNorm norm = FFTNorm::Backward,
                    std::optional<bool> onesided = std::nullopt, StreamOrDevice s = {});
/** Inverse of stft: the inverse transforms of the frames, windowed, overlap-added and divided by
 *  the overlap-added squared window. n_fft defaults to 2 (n_freq - 1) (onesided) or n_freq;
 *  `length` trims or zero-pads the result (float32, (..., samples)). */
KILN_API array istft(const array& stft_matrix, std::optional<int> n_fft = std::nullopt,
                     std::optional<int> hop_length = std::nullopt, std::optional<int> win_length = std::nullopt,
                     std::optional<array> window = std::nullopt, bool center = true,
                     FFTNorm norm = FFTNorm::Backward, std::optional<bool> onesided = std::nullopt,
                     std::optional<int> length = std::nullopt, StreamOrDevice s = {});

/** Sample frequencies (float32) of an n-point DFT with sample spacing `d`: 0, 1, ..., then the
 *  negative ones, over n * d. */
KILN_API array fftfreq(int n, double d = 1.0, StreamOrDevice s = {});
/** The n / 2 + 1 non-negative sample frequencies (float32) of an n-point rfft. */
KILN_API array rfftfreq(int n, double d = 1.0, StreamOrDevice s = {});

/** Rolls each of `axes` by half its length so that frequency zero sits in the middle. */
KILN_API array fftshift(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
/** fftshift over every axis. */
KILN_API array fftshift(const array& a, StreamOrDevice s = {});
/** Inverse of fftshift (differs from it for odd lengths). */
KILN_API array ifftshift(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
/** ifftshift over every axis. */
KILN_API array ifftshift(const array& a, StreamOrDevice s = {});

}  // namespace kiln::fft

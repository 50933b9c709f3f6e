// Bindings of kiln/fft.h: the `kiln.core.fft` submodule, with MLX's names, keywords and defaults.
#include "kiln/fft.h"

#include "utils.h"

using namespace kiln;
using namespace kiln::py;

namespace {

fft::FFTNorm to_norm(const std::string& norm, const char* op) {
  if (norm == "backward") return fft::FFTNorm::Backward;
  if (norm == "ortho") return fft::FFTNorm::Ortho;
  if (norm == "forward") return fft::FFTNorm::Forward;
  throw std::invalid_argument(std::string("[") + op +
                              "] Invalid norm. Expected one of {'backward', 'ortho', 'forward'}.");
}

using Fn1 = array (*)(const array&, int, int, fft::FFTNorm, StreamOrDevice);
using Fn1Full = array (*)(const array&, int, fft::FFTNorm, StreamOrDevice);
using FnN = array (*)(const array&, const Shape&, const std::vector<int>&, fft::FFTNorm, StreamOrDevice);
using FnNFull = array (*)(const array&, const std::vector<int>&, fft::FFTNorm, StreamOrDevice);

void def_1d(nb::module_& m, const char* name, Fn1 with_n, Fn1Full full, const char* doc) {
  m.def(
      name,
      [with_n, full, name](const array& a, std::optional<int> n, int axis, const std::string& norm, StreamOrDevice s) {
        auto nm = to_norm(norm, name);
        return n ? with_n(a, *n, axis, nm, s) : full(a, axis, nm, s);
      },
      "a"_a, "n"_a = nb::none(), "axis"_a = -1, "norm"_a = "backward", "stream"_a = nb::none(), doc);
}

void def_nd(nb::module_& m, const char* name, FnN with_n, FnNFull full, std::optional<std::vector<int>> default_axes,
            const char* doc) {
  auto f = [with_n, full, name](const array& a, std::optional<Shape> sizes, std::optional<std::vector<int>> axes,
                                const std::string& norm, StreamOrDevice s) {
    auto nm = to_norm(norm, name);
    if (!axes) {
      // As in MLX (NumPy deprecated the guess of the last len(s) axes).
      if (sizes) throw std::invalid_argument(std::string("[") + name + "] `axes` should not be `None` if `s` is not `None`.");
      axes = std::vector<int>();
      for (int i = 0; i < a.ndim(); ++i) axes->push_back(i);
    }
    return sizes ? with_n(a, *sizes, *axes, nm, s) : full(a, *axes, nm, s);
  };
  if (default_axes) {
    m.def(name, f, "a"_a, "s"_a = nb::none(), "axes"_a.none() = *default_axes, "norm"_a = "backward",
          "stream"_a = nb::none(), doc);
  } else {
    m.def(name, f, "a"_a, "s"_a = nb::none(), "axes"_a = nb::none(), "norm"_a = "backward", "stream"_a = nb::none(),
          doc);
  }
}

}  // namespace

void init_fft(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("fft", "Discrete Fourier transforms.");

  const char* args1 =
      "\n\nArgs:\n    a (array): input array.\n    n (int, optional): points along ``axis``; the input is cut or\n"
      "        zero-padded to it. Default: the length of ``axis``.\n    axis (int): the axis to transform. Default: -1.\n"
      "    norm (str): 'backward' (default), 'ortho' or 'forward'.\n    stream (Stream, optional)\n\nReturns:\n    array";
  static std::string d_fft = std::string("One dimensional discrete Fourier Transform.") + args1 + " (complex64).";
  static std::string d_ifft = std::string("One dimensional inverse discrete Fourier Transform.") + args1 + " (complex64).";
  static std::string d_rfft = std::string("One dimensional discrete Fourier Transform on a real input: the\n"
                                          "n // 2 + 1 non-negative frequencies.") + args1 + " (complex64).";
  static std::string d_irfft = std::string("The inverse of :func:`rfft`: ``n`` real points (default\n"
                                           "2 * (a.shape[axis] - 1)) from the non-negative frequencies.") +
                               args1 + " (float32).";
  def_1d(m, "fft", &fft::fft, &fft::fft, d_fft.c_str());
  def_1d(m, "ifft", &fft::ifft, &fft::ifft, d_ifft.c_str());
  def_1d(m, "rfft", &fft::rfft, &fft::rfft, d_rfft.c_str());
  def_1d(m, "irfft", &fft::irfft, &fft::irfft, d_irfft.c_str());

  const char* argsn =
      "\n\nArgs:\n    a (array): input array.\n    s (list(int), optional): sizes of the transformed axes; the input\n"
      "        is cut or zero-padded to them. Default: their lengths.\n    axes (list(int), optional): the axes to\n"
      "        transform.\n    norm (str): 'backward' (default), 'ortho' or 'forward'.\n    stream (Stream, optional)\n\n"
      "Returns:\n    array";
  static std::string docs[8];
  const char* heads[8] = {"Two dimensional discrete Fourier Transform.",
                          "Two dimensional inverse discrete Fourier Transform.",
                          "Two dimensional real discrete Fourier Transform.",
                          "The inverse of :func:`rfft2`.",
                          "n-dimensional discrete Fourier Transform.",
                          "n-dimensional inverse discrete Fourier Transform.",
                          "n-dimensional real discrete Fourier Transform.",
                          "The inverse of :func:`rfftn`."};
  for (int i = 0; i < 8; ++i) docs[i] = std::string(heads[i]) + argsn + ((i % 4) == 3 ? " (float32)." : " (complex64).");
  std::vector<int> last2{-2, -1};
  def_nd(m, "fft2", &fft::fft2, &fft::fft2, last2, docs[0].c_str());
  def_nd(m, "ifft2", &fft::ifft2, &fft::ifft2, last2, docs[1].c_str());
  def_nd(m, "rfft2", &fft::rfft2, &fft::rfft2, last2, docs[2].c_str());
  def_nd(m, "irfft2", &fft::irfft2, &fft::irfft2, last2, docs[3].c_str());
  def_nd(m, "fftn", &fft::fftn, &fft::fftn, std::nullopt, docs[4].c_str());
  def_nd(m, "ifftn", &fft::ifftn, &fft::ifftn, std::nullopt, docs[5].c_str());
  def_nd(m, "rfftn", &fft::rfftn, &fft::rfftn, std::nullopt, docs[6].c_str());
  def_nd(m, "irfftn", &fft::irfftn, &fft::irfftn, std::nullopt, docs[7].c_str());

  m.def(
      "fftfreq", [](int n, double d, StreamOrDevice s) { return fft::fftfreq(n, d, s); }, "n"_a, "d"_a = 1.0,
      "stream"_a = nb::none(),
      "Return the discrete Fourier Transform sample frequencies.\n\nArgs:\n    n (int): Window length.\n"
      "    d (float, optional): Sample spacing. The default is ``1.0``.\n\nReturns:\n"
      "    array: The sample frequencies as a one-dimensional array of type ``float32``.");
  m.def(
      "rfftfreq", [](int n, double d, StreamOrDevice s) { return fft::rfftfreq(n, d, s); }, "n"_a, "d"_a = 1.0,
      "stream"_a = nb::none(),
      "Return the Discrete Fourier Transform sample frequencies for :func:`rfft`: the ``n // 2 + 1``\n"
      "non-negative ones.\n\nArgs:\n    n (int): Window length.\n"
      "    d (float, optional): Sample spacing. The default is ``1.0``.\n\nReturns:\n"
      "    array: The sample frequencies as a one-dimensional array of type ``float32``.");
  m.def(
      "fftshift",
      [](const array& a, std::optional<IntOrVec> axes, StreamOrDevice s) {
        return axes ? fft::fftshift(a, to_axes(*axes), s) : fft::fftshift(a, s);
      },
      "a"_a, "axes"_a = nb::none(), "stream"_a = nb::none(),
      "Shift the zero-frequency component to the center of the spectrum.\n\nArgs:\n    a (array): input array.\n"
      "    axes (int or list(int), optional): axes to shift. Default: all.\n    stream (Stream, optional)\n\n"
      "Returns:\n    array: the shifted array.");
  m.def(
      "ifftshift",
      [](const array& a, std::optional<IntOrVec> axes, StreamOrDevice s) {
        return axes ? fft::ifftshift(a, to_axes(*axes), s) : fft::ifftshift(a, s);
      },
      "a"_a, "axes"_a = nb::none(), "stream"_a = nb::none(),
      "The inverse of :func:`fftshift`. While identical to :func:`fftshift` for even-length axes, the\n"
      "behavior differs for odd-length axes.\n\nArgs:\n    a (array): input array.\n"
      "    axes (int or list(int), optional): axes to shift. Default: all.\n    stream (Stream, optional)\n\n"
      "Returns:\n    array: the shifted array.");
  m.def(
      "stft",
      [](const array& x, int n_fft, std::optional<int> hop_length, std::optional<int> win_length,
         std::optional<array> window, bool center, const std::string& pad_mode, const std::string& norm,
         std::optional<bool> onesided, StreamOrDevice s) {
        return fft::stft(x, n_fft, hop_length, win_length, window, center, pad_mode, to_norm(norm, "stft"),
                         onesided, s);
      },
      "x"_a, "n_fft"_a = 2048, "hop_length"_a = nb::none(), "win_length"_a = nb::none(), "window"_a = nb::none(),
      "center"_a = true, "pad_mode"_a = "reflect", "norm"_a = "backward", "onesided"_a = nb::none(),
      "stream"_a = nb::none(),
      "Short-Time Fourier Transform.\n\nSplits the last axis of ``x`` into overlapping frames of length ``n_fft``,\n"
      "applies ``window``, and takes the Fourier Transform of each frame.\n\nArgs:\n    x (array): input array.\n"
      "    n_fft (int): size of the transform. Default: 2048.\n    hop_length (int, optional): samples between\n"
      "        frames. Default: ``n_fft // 4``.\n    win_length (int, optional): window size. Default: ``n_fft``.\n"
      "    window (array, optional): 1-D window, centered and zero-padded to ``n_fft``. Default: rectangular.\n"
      "    center (bool): pad both ends so frames are centered. Default: True.\n"
      "    pad_mode (str): 'reflect' (default), 'constant' or 'edge'.\n"
      "    norm (str): 'backward' (default), 'ortho' or 'forward'.\n"
      "    onesided (bool, optional): only the non-negative frequencies. Default: True for real input.\n"
      "    stream (Stream, optional)\n\nReturns:\n    array: complex64, shape ``(..., n_freq, n_frames)``.");
  m.def(
      "istft",
      [](const array& stft_matrix, std::optional<int> n_fft, std::optional<int> hop_length,
         std::optional<int> win_length, std::optional<array> window, bool center, const std::string& norm,
         std::optional<bool> onesided, std::optional<int> length, StreamOrDevice s) {
        return fft::istft(stft_matrix, n_fft, hop_length, win_length, window, center, to_norm(norm, "istft"),
                          onesided, length, s);
      },
      "stft_matrix"_a, "n_fft"_a = nb::none(), "hop_length"_a = nb::none(), "win_length"_a = nb::none(),
      "window"_a = nb::none(), "center"_a = true, "norm"_a = "backward", "onesided"_a = nb::none(),
      "length"_a = nb::none(), "stream"_a = nb::none(),
      "Inverse Short-Time Fourier Transform.\n\nOverlap-adds the windowed inverse transform of each frame,\n"
      "normalized by the squared-window envelope.\n\nArgs:\n    stft_matrix (array): shape ``(..., n_freq, n_frames)``.\n"
      "    n_fft (int, optional): transform size. Default: ``2 * (n_freq - 1)`` (onesided) or ``n_freq``.\n"
      "    hop_length (int, optional): Default: ``n_fft // 4``.\n    win_length (int, optional): Default: ``n_fft``.\n"
      "    window (array, optional): 1-D window. Default: rectangular.\n"
      "    center (bool): whether the STFT was centered. Default: True.\n"
      "    norm (str): 'backward' (default), 'ortho' or 'forward'.\n"
      "    onesided (bool, optional): whether the STFT has only non-negative frequencies. Default: True.\n"
      "    length (int, optional): trim or zero-pad the output to this length.\n    stream (Stream, optional)\n\n"
      "Returns:\n    array: the reconstructed signal (float32).");
}

// kiln/io.h through memory: round trips of every format, and malformed bytes (every truncation
// of a valid file, random corruption) that must raise std::invalid_argument, never crash.
#include <gtest/gtest.h>

#include <random>

#include "kiln/io.h"
#include "test_utils.h"

using namespace kiln;

namespace {

struct VecWriter : Writer {
  std::vector<char> bytes;
  void write(const void* p, uint64_t n) override {
    bytes.insert(bytes.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n);
  }
  std::string label() const override { return "<vector>"; }
};

array sample() { return reshape(arange(12.0, float32), {3, 4}); }

// Every prefix and many single-byte corruptions of `bytes` either load or throw invalid_argument.
template <typename Load>
void fuzz(const std::vector<char>& bytes, Load load) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    MemoryReader r(bytes.data(), n, "<prefix>");
    EXPECT_THROW(load(r), std::invalid_argument) << "prefix of " << n << " bytes";
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::vector<char> b = bytes;
    b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    MemoryReader r(b.data(), b.size(), "<corrupt>");
    try {
      load(r);
    } catch (const std::invalid_argument&) {
    }
  }
}

}  // namespace

TEST(IO, NpyRoundTripTransposed) {
  VecWriter w;
  save(w, transpose(sample()));
  MemoryReader r(w.bytes.data(), w.bytes.size());
  array a = load(r);
  EXPECT_EQ(a.shape(), (Shape{4, 3}));
  EXPECT_EQ(test::values<float>(a), test::values<float>(transpose(sample())));
  fuzz(w.bytes, [](Reader& r) { return load(r); });
}

TEST(IO, NpzRoundTrip) {
  for (bool compressed : {false, true}) {
    VecWriter w;
    savez(w, {{"a", sample()}, {"b", array({1, 2, 3})}}, compressed);
    MemoryReader r(w.bytes.data(), w.bytes.size());
    auto m = load_npz(r);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(test::values<float>(m.at("a")), test::values<float>(sample()));
    EXPECT_EQ(test::values<int>(m.at("b")), (std::vector<int>{1, 2, 3}));
    fuzz(w.bytes, [](Reader& r) { return load_npz(r); });
  }
}

TEST(IO, SafetensorsRoundTrip) {
  VecWriter w;
  save_safetensors(w, {{"x", sample()}, {"y", astype(array({1, 0}), bool_)}}, {{"k", "v\"q"}});
  MemoryReader r(w.bytes.data(), w.bytes.size());
  auto [m, meta] = load_safetensors(r);
  EXPECT_EQ(meta.at("k"), "v\"q");
  EXPECT_EQ(test::values<float>(m.at("x")), test::values<float>(sample()));
  EXPECT_EQ(m.at("y").dtype(), bool_);
  fuzz(w.bytes, [](Reader& r) { return load_safetensors(r); });
}

TEST(IO, GgufRoundTrip) {
  // Tensors of 64 and 32 bytes: the file then ends with data, not alignment padding, so every
  // shorter prefix is truncated.
  array x = reshape(arange(16.0, float32), {2, 8});
  VecWriter w;
  GGUFMetadata meta{{"s", std::string("x")}, {"l", std::vector<std::string>{"a", "b"}}, {"n", array(3)}};
  save_gguf(w, {{"x", x}, {"h", astype(x, float16)}}, meta);
  MemoryReader r(w.bytes.data(), w.bytes.size());
  auto [m, md] = load_gguf(r);
  EXPECT_EQ(test::values<float>(m.at("x")), test::values<float>(x));
  EXPECT_EQ(m.at("h").dtype(), float16);
  EXPECT_EQ(std::get<std::string>(md.at("s")), "x");
  EXPECT_EQ(std::get<std::vector<std::string>>(md.at("l")).size(), 2u);
  EXPECT_EQ(std::get<array>(md.at("n")).item<int>(), 3);
  fuzz(w.bytes, [](Reader& r) { return load_gguf(r); });
}

TEST(IO, MissingFileIsRuntimeError) { EXPECT_THROW(load("/nonexistent/x.npy"), std::runtime_error); }

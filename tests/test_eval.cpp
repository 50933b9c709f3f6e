// The scheduler: evaluation order, laziness, long chains, release of intermediates.
#include <gtest/gtest.h>

#include "kiln/kiln.h"

using namespace kiln;

TEST(Eval, NothingRunsBeforeEval) {
  array a = ones({4}, float32);
  array b = a + a;
  EXPECT_FALSE(b.is_evaluated());
  eval(b);
  EXPECT_TRUE(b.is_evaluated());
  EXPECT_FALSE(b.has_primitive());
  EXPECT_EQ(b.data<float>()[3], 2.0f);
}

TEST(Eval, MillionNodeChain) {
  array x = array(0.0f);
  for (int i = 0; i < 1000000; ++i) x = x + array(1.0f);
  EXPECT_FLOAT_EQ(x.item<float>(), 1000000.0f);
}

TEST(Eval, DestroyLongUnevaluatedChain) {
  array x = array(1.0f);
  for (int i = 0; i < 1000000; ++i) x = negative(x);
  x = array();  // must not overflow the stack
  SUCCEED();
}

TEST(Eval, IntermediatesReleasedAfterEval) {
  size_t base = get_active_memory();
  {
    array a = ones({1 << 20}, float32);
    array b = exp(a);
    array c = b * 2.0f;
    eval(c);
    // a, b are still referenced here; c holds 4 MiB
    EXPECT_GE(get_active_memory(), base + (4u << 20));
  }
  EXPECT_EQ(get_active_memory(), base);
}

TEST(Eval, AsyncEvalThenEval) {
  array a = arange(0.0, 1000.0, 1.0);
  array s = sum(a * a);
  async_eval({s});
  EXPECT_FLOAT_EQ(s.item<float>(), 332833500.0f);
}

TEST(Eval, SiblingsOfSplit) {
  array a = arange(12);
  auto parts = split(a, 3);
  array mid = parts[1];
  parts.clear();  // drop the other outputs before evaluation
  eval(mid);
  EXPECT_EQ(mid.data<int32_t>()[0], 4);
  EXPECT_EQ(mid.size(), 4u);
}

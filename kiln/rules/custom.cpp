// Rules of CustomTransforms (custom_function): the user's where given, else those of the wrapped
// function. Inputs past num_inputs_ are the function's outputs and receive no derivatives.
#include <stdexcept>

#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/primitives.h"
#include "kiln/transforms.h"

namespace kiln {

namespace {
std::vector<array> head(const std::vector<array>& v, int n) { return {v.begin(), v.begin() + n}; }
}  // namespace

std::vector<Shape> CustomTransforms::output_shapes(const std::vector<array>& inputs) {
  std::vector<Shape> shapes;
  for (size_t i = num_inputs_; i < inputs.size(); ++i) shapes.push_back(inputs[i].shape());
  return shapes;
}

std::vector<array> CustomTransforms::vjp(const std::vector<array>& primals, const std::vector<array>& cotangents,
                                         const std::vector<int>& argnums, const std::vector<array>& outputs) {
  auto args = head(primals, num_inputs_);
  auto all = vjp_ ? vjp_(args, cotangents, outputs) : kiln::vjp(fun_, args, cotangents).second;
  if (all.size() != args.size()) {
    throw std::invalid_argument(detail::str("[custom_function] The vjp returned ", all.size(),
                                            " cotangents for a function of ", args.size(), " inputs."));
  }
  std::vector<array> out;
  for (int a : argnums) out.push_back(a < num_inputs_ ? all[a] : zeros_like(primals[a]));
  return out;
}

std::vector<array> CustomTransforms::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                                         const std::vector<int>& argnums) {
  auto args = head(primals, num_inputs_);
  std::vector<array> tans;
  std::vector<int> nums;
  for (size_t k = 0; k < argnums.size(); ++k) {
    if (argnums[k] < num_inputs_) {
      nums.push_back(argnums[k]);
      tans.push_back(tangents[k]);
    }
  }
  if (jvp_) return jvp_(args, tans, nums);
  std::vector<array> full;
  for (auto& a : args) full.push_back(zeros_like(a));
  for (size_t k = 0; k < nums.size(); ++k) full[nums[k]] = tans[k];
  return kiln::jvp(fun_, args, full).second;
}

std::pair<std::vector<array>, std::vector<int>> CustomTransforms::vmap(const std::vector<array>& inputs,
                                                                      const std::vector<int>& axes) {
  auto args = head(inputs, num_inputs_);
  std::vector<int> arg_axes(axes.begin(), axes.begin() + num_inputs_);
  if (vmap_) return vmap_(args, arg_axes);
  auto outs = kiln::vmap(fun_, arg_axes)(args);
  return {outs, std::vector<int>(outs.size(), 0)};
}

}  // namespace kiln

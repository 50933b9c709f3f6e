// Byte streams of primitive parameters, for export_function / import_function (kiln/export.h).
// A primitive states its parameters once, with KILN_PRIMITIVE_STATE(Name, fields...) in its class
// (primitives.h): that writes them on export and, at import, rebuilds the primitive through its
// constructor Name(Stream, fields...) — so the fields are listed in constructor order.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kiln/array.h"

namespace kiln {

class Primitive;

/** The dtype whose Dtype::Val is `code`; std::invalid_argument for codes that name none. */
KILN_API Dtype dtype_from_code(int32_t code);

class KILN_API StateWriter {
 public:
  template <typename T>
  void write(const T& v) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      const char* p = reinterpret_cast<const char*>(&v);
      bytes_.insert(bytes_.end(), p, p + sizeof(T));
    } else if constexpr (std::is_same_v<T, Dtype>) {
      write(static_cast<int32_t>(v.val));
    } else if constexpr (std::is_same_v<T, std::string>) {
      write(static_cast<uint64_t>(v.size()));
      bytes_.insert(bytes_.end(), v.begin(), v.end());
    } else {  // std::vector<...>
      write(static_cast<uint64_t>(v.size()));
      for (const auto& x : v) write(x);
    }
  }
  template <typename... Ts>
  void write_tuple(const std::tuple<Ts...>& t) {
    std::apply([&](const auto&... xs) { (write(xs), ...); }, t);
  }
  const std::vector<char>& bytes() const { return bytes_; }

 private:
  std::vector<char> bytes_;
};

class KILN_API StateReader {
 public:
  StateReader(const char* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T read() {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      T v;
      take(&v, sizeof(T));
      return v;
    } else if constexpr (std::is_same_v<T, Dtype>) {
      return dtype_from_code(read<int32_t>());
    } else if constexpr (std::is_same_v<T, std::string>) {
      std::string s(checked_count(), '\0');
      take(s.data(), s.size());
      return s;
    } else {
      T v(checked_count());
      for (auto& x : v) x = read<typename T::value_type>();
      return v;
    }
  }
  template <typename Tuple>
  Tuple read_tuple() {
    return read_tuple_impl<Tuple>(std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  }
  bool done() const { return pos_ == size_; }

 private:
  template <typename Tuple, size_t... I>
  Tuple read_tuple_impl(std::index_sequence<I...>) {
    return Tuple{read<std::tuple_element_t<I, Tuple>>()...};  // braced: evaluated in order
  }
  size_t checked_count() {
    auto n = read<uint64_t>();
    if (n > size_ - pos_) throw std::invalid_argument("[import_function] Malformed file: a length runs past the data.");
    return static_cast<size_t>(n);
  }
  void take(void* out, size_t n) {
    if (n > size_ - pos_) throw std::invalid_argument("[import_function] Malformed file: truncated primitive state.");
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
  }
  const char* data_;
  size_t size_, pos_ = 0;
};

namespace detail {
using PrimitiveFactory = std::function<std::shared_ptr<Primitive>(Stream, StateReader&)>;
/** Registers how import_function rebuilds primitive `name` (done by KILN_PRIMITIVE_STATE). */
KILN_API bool register_primitive(const char* name, PrimitiveFactory factory);
/** The factory for `name`, or null. */
KILN_API const PrimitiveFactory* primitive_factory(const std::string& name);
}  // namespace detail

}  // namespace kiln

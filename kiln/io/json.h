// A small JSON reader and string quoting for the .safetensors header (internal).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln::io {

struct Json {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool b = false;
  std::string text;  // a string's value, or a number's literal text
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;  // in file order

  /** A non-negative integer literal's value; false if it is not one or overflows uint64. */
  bool as_uint(uint64_t& out) const;
};

/** Parses `s` (nesting at most 64 deep); std::invalid_argument with the reason if it is not JSON. */
Json parse_json(const std::string& s);

/** `s` as a JSON string literal (quotes and escapes). */
std::string json_quote(const std::string& s);

}  // namespace kiln::io

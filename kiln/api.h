// Symbol visibility: the library is built with hidden visibility; KILN_API marks what it exports.
#pragma once
#define KILN_API __attribute__((visibility("default")))

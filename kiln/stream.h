// Streams: ordered queues of work on a device.
#pragma once

#include <ostream>
#include <variant>

#include "kiln/device.h"

namespace kiln {

/** An in-order queue of operations on one device. */
struct KILN_API Stream {
  int index;
  Device device;
  Stream(int i, Device d) : index(i), device(d) {}
  bool operator==(const Stream& o) const { return index == o.index; }
  bool operator!=(const Stream& o) const { return index != o.index; }
};

/** The default stream of `d` (one per device, per thread-independent). */
KILN_API Stream default_stream(Device d);
/** Makes `s` the default stream of its device. */
KILN_API void set_default_stream(Stream s);
/** Creates a new stream on `d`. */
KILN_API Stream new_stream(Device d);
/** Looks a stream up by index. */
KILN_API Stream get_stream(int index);
/** Blocks until all work submitted to `s` has finished. */
KILN_API void synchronize(Stream s);
/** Blocks until all work on the default stream of the default device has finished. */
KILN_API void synchronize();
KILN_API std::ostream& operator<<(std::ostream& os, const Stream& s);

/** A stream per thread on `device`: each thread that uses it gets its own stream, made on first
 *  use (kiln's streams themselves work from any thread). */
struct KILN_API ThreadLocalStream {
  Device device;
  int id;
  /** The calling thread's stream. */
  Stream get() const;
};
/** A new ThreadLocalStream on `d`. */
KILN_API ThreadLocalStream new_thread_local_stream(Device d);
/** A new stream usable from any thread (every kiln stream is, so this is new_stream). */
KILN_API Stream new_thread_unsafe_stream(Device d);
/** Finishes the work on the calling thread's thread-local streams and forgets them (later uses
 *  make fresh ones). Other streams are untouched: their indices stay valid and are never reused. */
KILN_API void clear_streams();

/** Where an op runs: nothing (default stream of the default device), a device, or a stream. */
using StreamOrDevice = std::variant<std::monostate, Stream, Device>;

/** Resolves a StreamOrDevice to a concrete stream. */
KILN_API Stream to_stream(StreamOrDevice s);

}  // namespace kiln

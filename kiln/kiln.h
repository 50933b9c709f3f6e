// Everything a C++ user of kiln includes.
#pragma once

#include "kiln/allocator.h"
#include "kiln/array.h"
#include "kiln/device.h"
#include "kiln/dtype.h"
#include "kiln/fft.h"
#include "kiln/io.h"
#include "kiln/linalg.h"
#include "kiln/ops.h"
#include "kiln/quantized.h"
#include "kiln/random.h"
#include "kiln/stream.h"
#include "kiln/transforms.h"

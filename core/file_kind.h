#pragma once
// What a path names, for the readers and writers that accept only regular files: a device (/dev/zero never
// ends, /dev/full swallows writes), a FIFO (a plain open blocks) or a folder is refused with what it is,
// instead of "no such file" or a hang.
#include <string>

namespace scn {

// "" for a regular file (symbolic links followed); otherwise "nothing" (no such path, or one that cannot be
// reached), "a folder", "a character device", "a block device", "a FIFO (named pipe)", "a socket" or "not a
// regular file".
std::string non_regular_kind(const std::string& path);

}  // namespace scn

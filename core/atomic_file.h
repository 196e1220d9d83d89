#pragma once
// Atomic file replacement: a reader of `path` sees either the old file or the complete new one, never a
// half-written file, even if the process or the machine dies during the write. Checkpoints and run folders
// write through it.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace scn {

// Refuses, with an scn::Error naming `path` and what it is, a target that exists and is not a regular file (a
// folder, a device such as /dev/full, a FIFO, a socket): renaming a new file over it would replace it (as root
// even a device node), and a FIFO would block a plain open. A symbolic link is followed: a link to a regular
// file may be replaced by the new file. Every writer of scn comes through here (write_file_atomically, the
// commands' output checks, the run folder's logs, data convert), with or without --force.
void check_regular_file_target(const std::string& path);

// Calls `write` with a binary stream on "<path>.tmp.<pid>.<n>" (same directory, so the rename cannot cross
// file systems; <n> is a per-process counter so that two threads never share a temporary file), then
// flushes, fsyncs the data, renames it over `path` and fsyncs the directory. On any failure (the callback
// throws, a stream error, fsync or rename fails) the temporary file is removed, `path` is left as it was,
// and an scn::Error names `path` and the cause (the errno text for I/O, the callback's message otherwise).
// While it is written the temporary file is registered (core/temporary_files.h): SIGINT or SIGTERM removes it.
// A target that is not a regular file is refused first (check_regular_file_target).
// Exceptions that are not std::exception pass through unchanged, after the same clean-up.
// A full device reads "no space left on the device (<size_hint> bytes needed)" when the caller knows the
// size it writes, and a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) reads "File too large".
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                           uint64_t size_hint = 0);

// The same for a file whose whole contents are at hand.
void write_string_atomically(const std::string& path, std::string_view contents);

}  // namespace scn

#ifndef PARLEY_FRONTEND_ASSETS_EMBEDDED_FILES_H_
#define PARLEY_FRONTEND_ASSETS_EMBEDDED_FILES_H_

#include <cstddef>

namespace parley::frontend {

// A file of frontend/web/ compiled into the binary (by cmake/embed_files.cmake).
struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  size_t size;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_ASSETS_EMBEDDED_FILES_H_

// No dashboard compiled in (libraries and tests that do not need it).
namespace marketlens::gateway {
struct EmbeddedFile {
  const char* path;
  const char* data;
  unsigned long size;
};
extern const EmbeddedFile kEmbeddedFiles[] = {{"", "", 0}};
extern const unsigned long kEmbeddedFileCount = 0;
}  // namespace marketlens::gateway

#pragma once
// Class names: the defaults of the published data sets, and the one-name-per-line files beside them
// (batches.meta.txt, fine_label_names.txt, coarse_label_names.txt).
#include <string>
#include <vector>

namespace scn {

std::vector<std::string> cifar10_class_names();          // airplane … truck
std::vector<std::string> cifar100_fine_class_names();    // apple … worm (100)
std::vector<std::string> cifar100_coarse_class_names();  // aquatic_mammals … vehicles_2 (20)
std::vector<std::string> fashion_mnist_class_names();    // T-shirt/top … Ankle boot
std::vector<std::string> digit_class_names();            // "0" … "9"

// The non-empty lines of a names file (optionally gzip-compressed), trimmed of surrounding white space
// (the official batches.meta.txt ends with blank lines and may have CRLF line ends), as UTF-8 (class_name_utf8).
std::vector<std::string> read_class_names(const std::string& path);

// A class name as UTF-8: one that is not valid UTF-8 (a folder named on an older system) is read as Latin-1
// (ISO 8859-1), which maps every byte to a character, so the name prints, goes into JSON and checkpoints,
// and reads back the same.
std::string class_name_utf8(const std::string& name);

}  // namespace scn

// Image folders converted into the CIFAR-10 layout and read back through the CIFAR-10 reader.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/data/cifar.h"
#include "core/data/image_folder.h"
#include "core/data/inspect.h"
#include "core/data/load.h"
#include "data_files.h"
#include "image_files.h"

namespace scn {
namespace {

using testing::expect_error;
using testing::TempDir;

// Pixel (c, y, x) of record i of a CIFAR-layout data set.
int at(const Dataset& d, int64_t i, int c, int y, int x) {
  const int s = d.height();
  return d.images.data<uint8_t>()[((i * 3 + c) * s + y) * s + x];
}

TEST(DataImageFolder, ConvertsPngAndJpegAndReadsBackThroughTheCifar10Reader) {
  TempDir dir;
  const std::string root = dir / "folder";
  // cat: three 32×32 PNG gradients told apart by blue; dog: two solid JPEGs; emu: two grey 64×48 PNGs
  // (resized to 32×32). Folder names are sorted, so cat = 0, dog = 1, emu = 2.
  for (int k = 0; k < 3; ++k) {
    std::vector<uint8_t> rgb;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) rgb.insert(rgb.end(), {uint8_t(x * 8), uint8_t(y * 8), uint8_t(10 + 20 * k)});
    std::filesystem::create_directories(root + "/cat");
    testing::write_png(root + "/cat/" + std::to_string(k) + ".PNG", 32, 32, 3, rgb);
  }
  std::filesystem::create_directories(root + "/dog");
  testing::write_jpeg(root + "/dog/a.jpg", 32, 32, 3, testing::solid_rgb(32, 32, 200, 30, 30));
  testing::write_jpeg(root + "/dog/b.jpeg", 32, 32, 3, testing::solid_rgb(32, 32, 30, 200, 30));
  std::filesystem::create_directories(root + "/emu");
  testing::write_png(root + "/emu/x.png", 64, 48, 1, std::vector<uint8_t>(64 * 48, 77));
  testing::write_png(root + "/emu/y.png", 64, 48, 1, std::vector<uint8_t>(64 * 48, 150));
  testing::write_bytes(root + "/emu/notes.txt", {'h', 'i'});  // not an image: ignored

  const ImageFolderSummary summary = convert_image_folder(root, dir / "out");
  EXPECT_EQ(summary.class_names, (std::vector<std::string>{"cat", "dog", "emu"}));
  EXPECT_EQ(summary.train_per_class, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(summary.train_count, 7);
  EXPECT_EQ(summary.test_count, 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "out/test_batch.bin"));
  EXPECT_EQ(std::filesystem::file_size(dir / "out/data_batch_1.bin"), 7u * 3073);

  const Dataset d = load_dataset("cifar10", dir / "out", "train");
  ASSERT_EQ(d.images.shape(), Shape({7, 3, 32, 32}));
  EXPECT_EQ(d.classes, 3);
  EXPECT_EQ(d.class_names, summary.class_names);
  EXPECT_EQ(class_histogram(d), (std::vector<int64_t>{3, 2, 2}));
  std::map<int, int> seen_blue, seen_grey;
  int dogs_red = 0;
  for (int64_t i = 0; i < 7; ++i) {
    const int label = d.labels.data<int32_t>()[i];
    if (label == 0) {  // exact: PNG, no resize; R = 8x, G = 8y
      EXPECT_EQ(at(d, i, 0, 5, 9), 72);
      EXPECT_EQ(at(d, i, 1, 5, 9), 40);
      EXPECT_EQ(at(d, i, 0, 31, 0), 0);
      ++seen_blue[at(d, i, 2, 17, 3)];
    } else if (label == 1) {  // JPEG: close to the solid colour
      const bool red = at(d, i, 0, 16, 16) > 128;
      dogs_red += red;
      EXPECT_NEAR(at(d, i, 0, 16, 16), red ? 200 : 30, 4);
      EXPECT_NEAR(at(d, i, 1, 3, 28), red ? 30 : 200, 4);
      EXPECT_NEAR(at(d, i, 2, 30, 1), 30, 4);
    } else {  // resized constant grey: exact
      EXPECT_EQ(at(d, i, 0, 0, 0), at(d, i, 2, 31, 31));
      ++seen_grey[at(d, i, 1, 12, 20)];
    }
  }
  EXPECT_EQ(seen_blue, (std::map<int, int>{{10, 1}, {30, 1}, {50, 1}}));
  EXPECT_EQ(seen_grey, (std::map<int, int>{{77, 1}, {150, 1}}));
  EXPECT_EQ(dogs_red, 1);
}

// Thirty 6×6 PNGs in three classes, every image a distinct grey value.
std::string make_grey_folder(const TempDir& dir) {
  const std::string root = dir / "folder";
  for (int c = 0; c < 3; ++c) {
    const std::string cls = root + "/class" + std::to_string(c);
    std::filesystem::create_directories(cls);
    for (int k = 0; k < 10; ++k)
      testing::write_png(cls + "/" + std::to_string(k) + ".png", 6, 6, 1,
                         std::vector<uint8_t>(36, static_cast<uint8_t>(c * 80 + k)));
  }
  return root;
}

TEST(DataImageFolder, HoldsOutAStratifiedDeterministicTestSet) {
  TempDir dir;
  const std::string root = make_grey_folder(dir);
  const ImageFolderSummary s = convert_image_folder(root, dir / "a", 6, 0.2, 11);
  EXPECT_EQ(s.train_per_class, (std::vector<int64_t>{8, 8, 8}));
  EXPECT_EQ(s.test_per_class, (std::vector<int64_t>{2, 2, 2}));
  convert_image_folder(root, dir / "b", 6, 0.2, 11);
  convert_image_folder(root, dir / "c", 6, 0.2, 12);
  for (const char* file : {"/data_batch_1.bin", "/test_batch.bin", "/batches.meta.txt"})
    EXPECT_EQ(testing::read_bytes(dir / "a" + file), testing::read_bytes(dir / "b" + file)) << file;
  EXPECT_NE(testing::read_bytes(dir / "a/test_batch.bin"), testing::read_bytes(dir / "c/test_batch.bin"));

  const Dataset train = load_dataset("cifar10", dir / "a", "train", {.image_size = 6});
  const Dataset test = load_dataset("cifar10", dir / "a", "test", {.image_size = 6});
  EXPECT_EQ(class_histogram(test), (std::vector<int64_t>{2, 2, 2}));
  std::set<int> values;
  bool sorted = true;
  for (const Dataset* d : {&train, &test})
    for (int64_t i = 0; i < d->size(); ++i) {
      const int v = at(*d, i, 0, 1, 1);
      EXPECT_EQ(v / 80, d->labels.data<int32_t>()[i]) << "grey " << v << " has the wrong label";
      EXPECT_TRUE(values.insert(v).second) << "image " << v << " written twice";
      if (i > 0 && v < at(*d, i - 1, 0, 1, 1)) sorted = false;
    }
  EXPECT_EQ(values.size(), 30u);
  EXPECT_FALSE(sorted) << "records should be shuffled";
  // The folder records its image size (scn-data.json): every reader takes it from there (it used to read
  // 32×32 records by default and refuse the 6×6 ones), and a size asked for must agree with it.
  const Dataset by_default = load_dataset("cifar10", dir / "a", "train");
  EXPECT_EQ(by_default.images.shape(), train.images.shape());
  EXPECT_EQ(by_default.height(), 6);
  expect_error([&] { load_dataset("cifar10", dir / "a", "train", {.image_size = 32}); },
               {"scn-data.json: the images are 6x6, not 32x32"});
  // Without the record (an older conversion), 32×32 records are expected, and the message says why.
  std::filesystem::remove(dir / "a/scn-data.json");
  expect_error([&] { load_dataset("cifar10", dir / "a", "train"); },
               {"data_batch_1.bin: size 2616", "3073-byte", "of 32x32 images"});
}

TEST(DataImageFolder, LimitPerClassAndRewritingRemovesStaleFiles) {
  TempDir dir;
  const std::string root = make_grey_folder(dir);
  convert_image_folder(root, dir / "out", 4, 0.5, 1);
  ASSERT_TRUE(std::filesystem::exists(dir / "out/test_batch.bin"));
  const ImageFolderSummary s = convert_image_folder(root, dir / "out", 4, 0.0, 1, 3);
  EXPECT_EQ(s.train_per_class, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_FALSE(std::filesystem::exists(dir / "out/test_batch.bin"));
  const Dataset d = load_dataset("cifar10", dir / "out", "train", {.image_size = 4});
  EXPECT_EQ(d.size(), 9);
  for (int64_t i = 0; i < d.size(); ++i) EXPECT_LT(at(d, i, 1, 0, 0) % 80, 3);  // the first three by name
}

TEST(DataImageFolder, RefusesCorruptImagesAndBadFolders) {
  TempDir dir;
  const std::string root = make_grey_folder(dir);
  convert_image_folder(root, dir / "out", 6);
  const std::vector<uint8_t> before = testing::read_bytes(dir / "out/data_batch_1.bin");
  testing::write_bytes(root + "/class1/broken.jpg", {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F'});
  expect_error([&] { convert_image_folder(root, dir / "out", 6, 0.5, 9); }, {"class1/broken.jpg", "JPEG"});
  // The failed run left the earlier output untouched and no temporary files behind.
  EXPECT_EQ(testing::read_bytes(dir / "out/data_batch_1.bin"), before);
  EXPECT_FALSE(std::filesystem::exists(dir / "out/test_batch.bin"));
  for (const auto& e : std::filesystem::directory_iterator(dir / "out"))
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  std::filesystem::remove(root + "/class1/broken.jpg");
  std::filesystem::create_directories(root + "/empty");
  expect_error([&] { convert_image_folder(root, dir / "out"); }, {"empty: no .jpg, .jpeg or .png files"});
  expect_error([&] { convert_image_folder(dir / "absent", dir / "out"); }, {"absent: not a directory"});
  expect_error([&] { convert_image_folder(root, dir / "out", 32, 1.0); }, {"test_fraction"});
}

// The shared JPEG copy of CIFAR-10: 100 images per class converted and inspected.
TEST(DataImageFolder, ConvertsASubsetOfTheCifar10JpegArchive) {
  const std::string archive = SCN_SOURCE_DIR "/../shared/data/cifar10-train-jpeg.tar.gz";
  if (!std::filesystem::exists(archive)) GTEST_SKIP() << archive << " not present; skipping the real-data test";
  TempDir dir;
  const std::string command =
      "tar -xzf '" + archive + "' -C '" + dir.str() + "' --wildcards 'train/*/00[0-9][0-9].jpg' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const ImageFolderSummary s = convert_image_folder(dir / "train", dir / "cifar", 32, 0.1, 3, 100);
  EXPECT_EQ(s.class_names.front(), "airplane");
  EXPECT_EQ(s.class_names.back(), "truck");
  EXPECT_EQ(s.train_count + s.test_count, 1000);
  const Dataset train = load_dataset("cifar10", dir / "cifar", "train");
  const DatasetSummary info = inspect_dataset(train);
  EXPECT_EQ(info.count, 900);
  EXPECT_EQ(info.classes, 10);
  EXPECT_EQ(info.class_names, train.class_names);
  EXPECT_EQ(info.histogram, std::vector<int64_t>(10, 90));
  EXPECT_EQ(class_histogram(load_dataset("cifar10", dir / "cifar", "test")), std::vector<int64_t>(10, 10));
  // CIFAR-10's channel means are about 0.49, 0.48, 0.45 and its standard deviations about 0.25.
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(info.stats.mean[c], 0.47, 0.05) << c;
    EXPECT_NEAR(info.stats.std[c], 0.25, 0.04) << c;
  }
}

// A class folder named in Latin-1 (not UTF-8) becomes a UTF-8 class name: it prints, goes into JSON and
// into checkpoints, instead of failing after a whole epoch.
TEST(DataImageFolder, ALatin1ClassFolderBecomesAUtf8Name) {
  TempDir dir;
  const std::string root = dir / "folder";
  const std::string latin1 = "caf\xe9";  // "café" in ISO 8859-1
  std::filesystem::create_directories(root + "/" + latin1);
  std::filesystem::create_directories(root + "/tea");
  testing::write_png(root + "/" + latin1 + "/a.png", 4, 4, 3, testing::solid_rgb(4, 4, 1, 2, 3));
  testing::write_png(root + "/tea/a.png", 4, 4, 3, testing::solid_rgb(4, 4, 3, 2, 1));
  const ImageFolderSummary summary = convert_image_folder(root, dir / "out", 4);
  EXPECT_EQ(summary.class_names, (std::vector<std::string>{"caf\xc3\xa9", "tea"}));
  const Dataset d = read_cifar10(dir / "out", "train", 4);
  EXPECT_EQ(d.class_names, summary.class_names);
  EXPECT_NO_THROW(summary_json(inspect_dataset(d)).dump());
}

// A device that fills up during the conversion leaves the output folder as it was: no *.tmp files.
TEST(DataImageFolder, AFullDeviceLeavesNoTemporaryFiles) {
  TempDir dir;
  const std::string root = dir / "folder";
  for (const char* c : {"a", "b"}) {
    std::filesystem::create_directories(root + "/" + c);
    for (int k = 0; k < 40; ++k)
      testing::write_png(root + "/" + c + "/" + std::to_string(k) + ".png", 32, 32, 3,
                         testing::solid_rgb(32, 32, uint8_t(k), 2, 3));
  }
  std::string message;
  {
    testing::FileSizeLimit limit(100'000);  // the training batch is 80 × 3073 bytes
    try {
      convert_image_folder(root, dir / "out");
    } catch (const Error& e) {
      message = e.what();
    }
  }
  EXPECT_NE(message.find("data_batch_1.bin: cannot write 245840 bytes (File too large)"), std::string::npos) << message;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "out"))
    ADD_FAILURE() << "left behind: " << entry.path();
}

// Images in a class folder's sub-folder were left out without a word, and `data convert DIR DIR/a` wrote
// into its own input tree; both are refused before anything is written.
TEST(DataImageFolder, RefusesSubFoldersAndAnOutputInsideTheInput) {
  TempDir dir;
  const std::string root = make_grey_folder(dir);
  expect_error([&] { convert_image_folder(root, root + "/class0/out", 4); }, {"is inside the folder being converted"});
  expect_error([&] { convert_image_folder(root, root, 4); }, {"is inside the folder being converted"});
  EXPECT_FALSE(std::filesystem::exists(root + "/class0/out"));
  std::filesystem::create_directories(root + "/class1/more");
  expect_error([&] { convert_image_folder(root, dir / "out", 4); }, {"class1/more: a folder inside the class folder"});
  std::filesystem::create_directories(root + "/class1/.hidden");
  std::filesystem::remove(root + "/class1/more");
  EXPECT_NO_THROW(convert_image_folder(root, dir / "out", 4));
}

}  // namespace
}  // namespace scn

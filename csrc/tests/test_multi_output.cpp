// Multi-output graphs through the C API: a model returning a tuple and one
// returning a dict (fixtures from make_multi_output.py, exported with
// "outputs" + "output_structure") report their outputs' count, names, ranks
// and shapes, and run to PyTorch's values on every kernel path. A malformed
// "outputs" / "output_structure" or a malformed new op is a load error.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dirnet.h"
#include "dispatch.hpp"
#include "loader/dbnn.hpp"
#include "model.hpp"
#include "util/npy.hpp"

namespace {

using json = nlohmann::json;

std::string fixture(const std::string& name) { return std::string(DIRNET_FIXTURES) + "/" + name; }

struct Expected {
  const char* model;
  std::vector<std::string> names;
  std::vector<int> ranks;
};

const Expected kModels[] = {
    {"multi_tuple", {"0", "1"}, {2, 4}},
    {"multi_dict", {"logits", "gate", "features"}, {2, 4, 4}},
};

// The file with its header edited (the checksum covers tensors only, so the
// header may change freely).
std::vector<unsigned char> edited(const std::string& file, const std::function<void(json&)>& edit) {
  std::ifstream in(fixture(file), std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[size_t(i)];
  json meta = json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + long(n)));
  json header = json::parse(meta["__metadata__"]["dirnet"].get<std::string>());
  edit(header);
  meta["__metadata__"]["dirnet"] = header.dump();
  std::string text = meta.dump();
  while ((text.size() + 8) % 8) text += ' ';
  std::vector<unsigned char> out(8);
  for (int i = 0; i < 8; ++i) out[size_t(i)] = (uint64_t(text.size()) >> (8 * i)) & 0xff;
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), bytes.begin() + 8 + long(n), bytes.end());
  return out;
}

// "" when the bytes load, else the C API's message.
std::string load_error(const std::vector<unsigned char>& bytes) {
  dirnet_model* m = nullptr;
  const dirnet_status s = dirnet_load_memory(bytes.data(), bytes.size(), nullptr, &m);
  std::string msg = s == DIRNET_OK ? "" : dirnet_last_error();
  dirnet_free(m);
  return msg;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

json& op_named(json& h, const std::string& name) {
  for (json& op : h["graph"])
    if (op["name"] == name) return op;
  throw std::runtime_error("no op " + name);
}

}  // namespace

TEST_CASE("multi-output models: count, names, shapes and values on every path") {
  for (const Expected& e : kModels) {
    const std::string model = e.model;
    const dirnet::NpyArray x = dirnet::read_npy(fixture(model + ".input.npy"));
    REQUIRE(x.shape.size() == 4);
    const int64_t in_shape[4] = {x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    const std::vector<float> xin = x.as_f32();
    for (const std::string& path : dirnet::supported_paths()) {
      CAPTURE(model);
      CAPTURE(path);
      dirnet_options opt{2, path.c_str(), 0};
      dirnet_model* m = nullptr;
      REQUIRE_MESSAGE(dirnet_load_file(fixture(model + ".dbnn").c_str(), &opt, &m) == DIRNET_OK, dirnet_last_error());
      REQUIRE(dirnet_num_outputs(m) == int(e.names.size()));
      std::vector<std::vector<float>> outs;
      std::vector<std::vector<float>> want;
      for (int i = 0; i < dirnet_num_outputs(m); ++i) {
        CHECK(std::string(dirnet_output_name(m, i)) == e.names[size_t(i)]);
        int64_t shape[4];
        int rank = 0;
        REQUIRE(dirnet_output_shape(m, i, in_shape, shape, &rank) == DIRNET_OK);
        CHECK(rank == e.ranks[size_t(i)]);
        const dirnet::NpyArray w = dirnet::read_npy(fixture(model + ".expected." + std::to_string(i) + ".npy"));
        REQUIRE(int(w.shape.size()) == rank);
        for (int d = 0; d < rank; ++d) CHECK(shape[d] == w.shape[size_t(d)]);
        want.push_back(w.as_f32());
        outs.emplace_back(want.back().size(), -1.f);
      }
      CHECK(dirnet_output_name(m, dirnet_num_outputs(m)) == nullptr);
      std::vector<float*> ptrs;
      std::vector<size_t> caps;
      for (auto& o : outs) {
        ptrs.push_back(o.data());
        caps.push_back(o.size());
      }
      REQUIRE_MESSAGE(dirnet_run(m, xin.data(), in_shape, ptrs.data(), caps.data()) == DIRNET_OK, dirnet_last_error());
      for (size_t i = 0; i < outs.size(); ++i) {
        float worst = 0.f;
        for (size_t k = 0; k < outs[i].size(); ++k) worst = std::fmax(worst, std::fabs(outs[i][k] - want[i][k]));
        CAPTURE(i);
        CHECK(worst < 1e-4f);  // PyTorch's values; the kernels sum in another order
      }
      const json h = json::parse(dirnet_header_json(m));
      CHECK(h["output_structure"] == (model == "multi_dict" ? "dict" : "tuple"));
      CHECK(!h.contains("output"));
      dirnet_free(m);
    }
  }
}

TEST_CASE("malformed outputs and output_structure are load errors") {
  const char* f = "multi_tuple.dbnn";
  CHECK(load_error(edited(f, [](json&) {})).empty());
  CHECK(contains(load_error(edited(f, [](json& h) { h["output_structure"] = "set"; })),
                 "output_structure must be 'tuple', 'list' or 'dict'"));
  CHECK(contains(load_error(edited(f, [](json& h) { h["output_structure"] = 3; })),
                 "output_structure must be 'tuple', 'list' or 'dict'"));
  CHECK(contains(load_error(edited(f, [](json& h) { h["outputs"][1]["name"] = "x"; })),
                 "the outputs of a tuple must be named '0', '1', ... in order"));
  CHECK(load_error(edited(f, [](json& h) {
          h["outputs"][1]["name"] = "x";
          h["output_structure"] = "dict";
        })).empty());
  CHECK(load_error(edited(f, [](json& h) { h.erase("output_structure"); })).empty());
  CHECK(contains(load_error(edited(f, [](json& h) { h["outputs"][1]["name"] = "0"; })),
                 "output names must be unique"));
  CHECK(contains(load_error(edited(f, [](json& h) { h["outputs"] = json::array(); })),
                 "'outputs' must be a non-empty list"));
  CHECK(contains(load_error(edited(f, [](json& h) { h["outputs"][0]["value"] = "v999"; })),
                 "graph output 'v999' is not computed by any op"));
  CHECK(contains(load_error(edited(f, [](json& h) { h["outputs"][0].erase("value"); })),
                 "'outputs' must be a non-empty list"));
}

TEST_CASE("malformed silu / sigmoid / hardswish / hardsigmoid / mul ops name the op") {
  const char* f = "multi_dict.dbnn";
  // find the ops' names in the file
  dirnet::DbnnFile file = dirnet::read_dbnn_file(fixture(f));
  std::map<std::string, std::string> by_op;  // op type -> its first op's name
  for (const json& op : file.header["graph"]) by_op.emplace(op["op"].get<std::string>(), op["name"].get<std::string>());
  for (const char* op : {"silu", "sigmoid", "hardswish", "mul"}) REQUIRE(by_op.count(op));
  for (const char* op : {"silu", "sigmoid", "hardswish"}) {
    const std::string name = by_op[op];
    CAPTURE(op);
    CHECK(contains(load_error(edited(f, [&](json& h) { op_named(h, name)["attrs"]["alpha"] = 1.0; })),
                   "op '" + name + "': " + op + " takes no attributes"));
    CHECK(contains(load_error(edited(f, [&](json& h) { op_named(h, name)["tensors"]["w"] = "conv.weight"; })),
                   "op '" + name + "': " + op + " takes no tensors"));
    CHECK(contains(load_error(edited(f, [&](json& h) { op_named(h, name)["inputs"].push_back("v1"); })),
                   "op '" + name + "': " + op + " takes 1 input(s), got 2"));
  }
  const std::string mul = by_op["mul"];
  CHECK(contains(load_error(edited(f, [&](json& h) { op_named(h, mul)["inputs"].erase(1); })),
                 "op '" + mul + "': mul takes 2 input(s), got 1"));
  CHECK(contains(load_error(edited(f, [&](json& h) { op_named(h, mul)["attrs"]["scale"] = 2; })),
                 "op '" + mul + "': mul takes no attributes"));
  // an op name that no handler knows: the message lists the new ops
  const std::string unknown = load_error(edited(f, [&](json& h) { op_named(h, mul)["op"] = "gelu"; }));
  CHECK(contains(unknown, "op '" + mul + "': unknown op type 'gelu'"));
  for (const char* op : {"silu", "sigmoid", "hardswish", "hardsigmoid", "mul"}) CHECK(contains(unknown, op));
}

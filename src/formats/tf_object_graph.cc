// TensorFlow 2's object graph (the _CHECKPOINTABLE_OBJECT_GRAPH tensor): the names behind a
// checkpoint's object-path keys.
//
//   TrackableObjectGraph { nodes 1: TrackableObject* }         node 0 is the root
//   TrackableObject { children 1: ObjectReference { node_id 1, local_name 2 },
//                     attributes 2: SerializedTensor { name 1, full_name 2, checkpoint_key 3 },
//                     slot_variables 3, registered_saver 4, has_checkpoint_values 5 }
// A key's name is its attribute's full_name (lstm_2/lstm_cell/kernel); an attribute without
// one keeps its key. The graph may share nodes and hold cycles (Keras writes a root self-edge):
// only node ids are checked here, nothing is walked.
#include <map>

#include "protobuf_wire.h"
#include "rnnkit/core/error.h"
#include "tf_checkpoint_state.h"

namespace rnnkit {

std::map<std::string, std::string> tf_object_graph_names(std::span<const std::byte> graph, const std::string& what) {
  using detail::ProtoField;
  using detail::ProtoReader;
  ProtoReader top(graph, what);
  std::vector<std::vector<int64_t>> children;
  std::map<std::string, std::string> names;
  ProtoField f;
  while (top.next(f)) {
    if (f.number != 1) continue;
    const std::string at = what + ", node " + std::to_string(children.size());
    ProtoReader node(top.as_bytes(f, "nodes"), at);
    children.emplace_back();
    ProtoField g;
    while (node.next(g)) {
      if (g.number == 1) {
        ProtoReader ref(node.as_bytes(g, "children"), at + ", child");
        ProtoField h;
        while (ref.next(h)) {
          if (h.number == 1) children.back().push_back(ref.as_int32(h, "node_id"));
        }
      } else if (g.number == 2) {
        ProtoReader attribute(node.as_bytes(g, "attributes"), at + ", attribute");
        std::string full_name, key;
        ProtoField h;
        while (attribute.next(h)) {
          if (h.number == 2) full_name = attribute.as_string(h, "full_name");
          if (h.number == 3) key = attribute.as_string(h, "checkpoint_key");
        }
        if (!key.empty() && !full_name.empty() && !names.emplace(key, full_name).second) {
          attribute.fail("checkpoint_key", "'" + key + "' belongs to two attributes");
        }
      }
    }
  }
  for (std::size_t n = 0; n < children.size(); ++n) {
    for (const int64_t child : children[n]) {
      if (child < 0 || static_cast<std::size_t>(child) >= children.size()) {
        throw Error(what + ", node " + std::to_string(n) + ": a child is node " + std::to_string(child) +
                    ", but the graph has " + std::to_string(children.size()) + " nodes");
      }
    }
  }
  return names;
}

}  // namespace rnnkit

#ifndef PARLEY_FRONTEND_BROKER_COMPLETION_H_
#define PARLEY_FRONTEND_BROKER_COMPLETION_H_

namespace parley::frontend {

// Everything whose address BrokerClient hands to one of its completion queues as a tag: the
// queue's thread calls Complete(ok) when the operation is done.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void Complete(bool ok) = 0;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_BROKER_COMPLETION_H_

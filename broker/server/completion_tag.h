#ifndef PARLEY_BROKER_SERVER_COMPLETION_TAG_H_
#define PARLEY_BROKER_SERVER_COMPLETION_TAG_H_

namespace parley::broker {

// Everything whose address is handed to a completion queue as a tag. The dispatch loop casts
// each tag back to a CompletionTag and calls OnCompletion on the queue's own thread; what
// happens next (and who deletes what) is the implementation's business.
class CompletionTag {
 public:
  virtual void OnCompletion(bool ok) = 0;

 protected:
  ~CompletionTag() = default;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_COMPLETION_TAG_H_

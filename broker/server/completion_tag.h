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

// A call object's tag for one kind of event: hands the completion to `call->OnEvent(event,
// ok)`. A call has one member EventTag per operation it may have outstanding.
template <typename Call, typename Event>
class EventTag final : public CompletionTag {
 public:
  EventTag(Call* call, Event event) : call_(call), event_(event) {}
  void OnCompletion(bool ok) override { call_->OnEvent(event_, ok); }

 private:
  Call* const call_;
  const Event event_;
};

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_COMPLETION_TAG_H_

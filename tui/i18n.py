"""Every string the kiosk shows, in Chinese (the default) and English.

One catalogue per language with the same keys (a test checks both, and that screens ask
only for keys that exist). Values are ``str.format`` templates with named fields.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

ZH: dict[str, str] = {
    "app.title": "社区快递柜",
    "home.welcome": "您好！请选择要办的事。",
    "home.pickup": "取件",
    "home.pickup_hint": "输入取件码",
    "home.deposit": "投递",
    "home.deposit_hint": "快递员专用",
    "home.send": "寄件",
    "home.send_hint": "放入要寄出的包裹",
    "home.parking": "停车",
    "home.parking_hint": "车位登记",
    "home.maintenance": "维护",
    "home.maintenance_hint": "值班维护人员",
    "home.language": "English",
    "home.language_hint": "Switch to English",
    "home.demo_keys": "演示：F1 取件码和 PIN · F2 模拟硬件",
    "home.starting": "正在启动，请稍候……",
    "key.back": "⌫删除",
    "key.clear": "清除",
    "key.ok": "确定",
    "nav.back": "返回",
    "nav.done": "完成",
    "door.place": "{cabinet} 柜 {number} 号门（{door}）",
    "door.open": "已打开",
    "door.shut": "已关好",
    "status.uplink_up": "上行 ● 在线",
    "status.uplink_down": "上行 ○ 离线",
    "status.uplink_none": "上行 — 未配置",
    "status.queued": "待发送 {n}",
    "status.checking": "正在检查设备……",
    "fault.cabinet_tamper": "机柜被打开",
    "fault.board_offline": "锁控板 {board} 无响应",
    "fault.door_jammed": "柜门卡住 {doors}",
    "fault.door_left_open": "柜门未关 {doors}",
    "fault.door_tamper": "柜门被撬 {doors}",
    "fault.sensor_mismatch": "传感器异常 {doors}",
    "fault.other": "故障 {what}",
    "pickup.title": "取件",
    "pickup.prompt": "请输入取件码（在通知消息里），然后按「确定」。",
    "pickup.no_lookalikes": "取件码里没有 0、O、1、I、L 这几个字符。",
    "pickup.too_short": "取件码是 {n} 位，请输完整。",
    "pickup.checking": "正在核对，请稍候……",
    "pickup.wrong": "取件码不正确。",
    "pickup.wrong_hint": "请对照通知消息再输入一次。",
    "pickup.blocked": "输错次数较多，请稍后再试。",
    "pickup.wait": "请等待 {s} 秒后再试。",
    "pickup.try_again": "现在可以再试了。",
    "pickup.board_error": "暂时无法连接柜门控制器，取件码仍然有效，请稍后再试。",
    "pickup.opened": "已为您打开 {n} 个柜门：",
    "pickup.none_opened": "柜门没有打开。",
    "pickup.nothing_waiting": "这个取件码没有待取的包裹。",
    "pickup.failed": "柜门 {doors} 没有打开：包裹还在里面，取件码继续有效，已通知维护人员。",
    "pickup.shut_doors": "请取出包裹，并关好柜门。",
    "pickup.done": "完成，谢谢！",
    "deposit.title": "投递",
    "deposit.count": "本次已投递 {n} 件",
    "deposit.pin_prompt": "请输入快递员 PIN 码。",
    "deposit.pin_short": "PIN 码至少 4 位。",
    "deposit.pin_checking": "正在核对……",
    "deposit.pin_wrong": "PIN 码不正确。",
    "deposit.unit_prompt": "收件单元号？输入后按「确定」或点下面的单元。",
    "deposit.unknown_unit": "没有单元 {unit}，请核对。",
    "deposit.size_prompt": "单元 {unit}：包裹多大？",
    "deposit.put_and_shut": "请放入单元 {unit} 的包裹（{size}），然后关门。",
    "deposit.stored": "✓ {door} → 单元 {unit} 已存好。下一件：",
    "deposit.full": "没有空的{size}或更大的格口了。已记录为社区需求，用于规划扩建。"
                    "请把这件带回，另行安排。",
    "deposit.finish": "结束投递",
    "size.S": "小 S",
    "size.M": "中 M",
    "size.L": "大 L",
    "size.free": "空 {n} 格",
    "size.uses": "将用 {size} 格",
    "size.full": "已满",
    "slot.opening": "正在开门……",
    "slot.door_open": "柜门已打开：{place}",
    "slot.put_and_shut": "请放入包裹（{size}），然后关门。",
    "slot.cancel": "取消这件",
    "slot.cancel_shut": "这件不会登记。请取回包裹，关好柜门 {door}。",
    "slot.checking": "正在确认……",
    "slot.jammed": "柜门 {door} 没有打开，已报修。请再选一次大小，会换一个柜门。",
    "slot.empty": "柜门 {door} 里没有检测到包裹，这件已取消。",
    "slot.cancelled": "已取消，柜门 {door} 空出。",
    "slot.unconfirmed": "无法确认柜门 {door} 的状态，已交给维护人员核对。",
    "slot.board_error": "暂时无法连接柜门控制器，请稍后再试。",
    "send.title": "寄件",
    "send.unit_prompt": "您的单元号？",
    "send.pin_prompt": "您家的 PIN 码？",
    "send.login_wrong": "单元号或 PIN 码不正确。",
    "send.size_prompt": "要寄的包裹多大？",
    "send.put_and_shut": "请放入要寄出的包裹（{size}），然后关门。",
    "send.full": "没有空的{size}或更大的格口了。已记录为社区需求，请稍后再来。",
    "send.done": "✓ 已放入柜门 {door}。快递员会来取件。谢谢！",
    "parking.title": "停车",
    "parking.menu_prompt": "停车：登录办理自己的车位，或查看公示栏（无需登录）。",
    "parking.menu_login": "我的车位\n单元号 + PIN 登录",
    "parking.menu_board": "公示栏\n车位分配和下次抽签",
    "parking.unit_prompt": "停车登录：您的单元号？",
    "parking.pin_prompt": "您的停车 PIN 码？",
    "parking.pin_prompt_unit": "单元 {unit}：您的停车 PIN 码？",
    "parking.login_wrong": "单元号或 PIN 码不正确。",
    "parking.login_blocked": "PIN 码输错次数较多。",
    "parking.login_hint": "请重新输入单元号，再输入 PIN 码。",
    "parking.note_member": "单元 {unit} · 化名 {member}",
    "parking.loading": "读取中……",
    "parking.my_spot": "我的车位：{spot}（{type}），{round} 轮",
    "parking.no_spot": "我的车位：本轮没有。",
    "parking.round_asked": "{round} 轮接受申请中：您已申请{type}车位。",
    "parking.round_not_asked": "{round} 轮接受申请中：您还没有申请。",
    "parking.round_busy": "{round} 轮正在抽签，抽签后再开放申请。",
    "parking.round_busy_asked": "{round} 轮正在抽签：您申请了{type}车位。",
    "parking.reservations": "我的预约：",
    "parking.reservation_line": "车位 {spot}（{type}）· {kind} · {span} · {status}",
    "parking.checkin_from": "，{time} 起可签到",
    "parking.waitlist_line": "候补：{type} · {span} · 排第 {n} 位",
    "parking.offer_line": "为您保留车位 {spot}，{time} 前有效：请接受或放弃。",
    "parking.history": "记录：",
    "parking.history_spot": "{round} 轮 {spot}",
    "parking.history_released": "{round} 轮 {spot}（已退还）",
    "parking.history_refused": "{round} 轮未分到（{type}）",
    "parking.history_reservation": "预约 {when} {spot} {status}",
    "parking.history_none": "暂无记录。",
    "parking.type_standard": "标准",
    "parking.type_accessible": "无障碍",
    "parking.type_ev": "充电",
    "parking.type_motorcycle": "摩托车",
    "parking.type_loading": "装卸",
    "parking.kind_visitor": "访客",
    "parking.kind_moving": "搬家",
    "parking.status_booked": "已预约",
    "parking.status_checked_in": "已签到",
    "parking.status_held": "为您保留",
    "parking.status_completed": "已使用",
    "parking.status_no_show": "未到",
    "parking.status_cancelled": "已取消",
    "parking.status_lapsed": "保留已过期",
    "parking.round_open": "接受申请中",
    "parking.round_closed": "已截止，等待公开随机数",
    "parking.round_committed": "抽签输入已公布",
    "parking.round_drawn": "已抽签",
    "parking.today_at": "今天 {hm}",
    "parking.tomorrow_at": "明天 {hm}",
    "parking.date_at": "{month}月{day}日 {hm}",
    "parking.act_request": "申请车位",
    "parking.act_change": "更改申请",
    "parking.act_withdraw": "撤回申请",
    "parking.act_release": "退还车位",
    "parking.act_reserve": "预约时段",
    "parking.act_checkin": "签到",
    "parking.act_cancel": "取消预约",
    "parking.act_accept": "接受保留",
    "parking.act_decline": "放弃保留",
    "parking.act_gate": "打开道闸",
    "parking.act_logout": "退出",
    "parking.gate_up": "道闸已开",
    "parking.gate_open": "道闸已打开，{s} 秒后放下。",
    "parking.gate_down": "道闸已放下。",
    "parking.confirm_release": "退还车位 {spot}？下次抽签前它可供他人预约。再按一次确认。",
    "parking.confirm_withdraw": "撤回 {round} 轮的申请？再按一次确认。",
    "parking.confirm_cancel": "取消车位 {spot} 的预约？再按一次确认。",
    "parking.confirm_decline": "放弃车位 {spot}？它将按顺序给下一位。再按一次确认。",
    "parking.confirm_again": "再按一次确认。",
    "parking.done_request": "已申请 {round} 轮的{type}车位。抽签公平：得到最少的人优先。",
    "parking.done_withdraw": "已撤回 {round} 轮的申请。",
    "parking.done_release": "车位 {spot} 已退还，谢谢！",
    "parking.done_checkin": "已在车位 {spot} 签到。",
    "parking.done_cancel": "预约已取消。",
    "parking.done_accept": "车位 {spot} 归您使用：{span}。",
    "parking.done_decline": "已放弃，车位按顺序给下一位。",
    "parking.done_reserved": "已预约：车位 {spot}，{span}。",
    "parking.done_waitlisted": "那时没有空的{type}车位：您在候补名单第 {n} 位。"
                               "空出的车位按顺序提供，不看谁快。已记录为社区需求。",
    "parking.request_prompt": "{round} 轮：申请哪种车位？再次申请会更改类型。",
    "parking.request_fair": "抽签公平：长期得到最少的人优先，平局由事先公布的随机数决定。",
    "parking.type_choice": "{spots} 个车位 · {askers} 人申请",
    "parking.reserve_prompt": "预约时段（访客、搬家）：选类型、日期、开始时间和时长。",
    "parking.today": "今天",
    "parking.tomorrow": "明天",
    "parking.hours": "{n} 小时",
    "parking.reserve_summary": "{type}车位，{span}，{kind}",
    "parking.reserve_go": "预约",
    "parking.why_need": "无障碍车位只给申报了需要的住户。",
    "parking.why_no_request": "您在本轮没有申请。",
    "parking.why_not_held": "您本轮没有车位。",
    "parking.why_slot_over": "这个时段已经过去，请选更晚的时间。",
    "parking.why_too_long": "预约时长超过上限。",
    "parking.why_overlap": "您在那段时间已有预约或候补。",
    "parking.why_check_in_later": "签到从 {time} 开始。",
    "parking.why_no_offer": "这个保留已经失效。",
    "parking.why_gate": "道闸只为本轮有车位或已签到预约的住户打开。",
    "parking.why_other": "未办成：{detail}",
    "parking.board_spots": "现在的车位：",
    "parking.col_type": "类型",
    "parking.col_spots": "总数",
    "parking.col_free": "空闲",
    "parking.col_held": "已分配",
    "parking.col_reserved": "预约中",
    "parking.col_out": "停用",
    "parking.board_next": "下次抽签：{round} 轮，{state}，{n} 份申请",
    "parking.board_next_none": "下一轮 {round}：收到第一份申请即开放。",
    "parking.board_allocations": "{round} 轮分配（化名，{n} 个）：",
    "parking.board_no_allocations": "还没有抽过签。",
    "parking.board_last": "上次抽签：{round} 轮，{n} 份申请，{when}",
    "parking.board_verify": "任何人都可复核：kiosk parking verify 记录 --commitment 公布的输入",
    "parking.label_closed": "截止",
    "parking.label_eligible": "资格哈希",
    "parking.label_algorithm": "算法版本",
    "parking.label_random": "公开随机数",
    "parking.label_inputs": "输入哈希",
    "parking.label_results": "结果哈希",
    "maintenance.title": "维护",
    "maintenance.pin_prompt": "值班维护人员：请输入值班 PIN 码。",
    "maintenance.pin_short": "值班 PIN 码至少 6 位。",
    "maintenance.checking": "正在核对……",
    "maintenance.pin_wrong": "PIN 码不正确。",
    "maintenance.off_shift": "这个 PIN 码现在不在值班时间：只有值班表上当班的人才能登录。",
    "maintenance.on_duty_now": "现在值班：{names}",
    "maintenance.nobody_on_duty": "现在没有人值班。",
    "maintenance.roster": "值班表",
    "maintenance.logged_in": "值班：{name}",
    "maintenance.logout": "退出",
    "maintenance.loading": "正在读取设备……",
    "maintenance.hint": "点一个格口查看并操作；点一条故障查看处理方法。",
    "maintenance.free": "空闲格口：{counts}",
    "maintenance.board": "锁控板 {label}（地址 {board}）：{state} · 轮询失败 {errors} 次",
    "maintenance.board_online": "在线",
    "maintenance.board_offline": "离线",
    "maintenance.bus": "总线：超时 {timeouts} · 坏帧 {bad_frames} · 重试 {retries} · "
                       "丢弃字节 {dropped_bytes}",
    "maintenance.gpio": "外设：{readings}",
    "maintenance.no_gpio": "外设：没有接 GPIO 外设",
    "maintenance.uplink_up": "上行：在线 · 待发送 {n}",
    "maintenance.uplink_down": "上行：离线 · 待发送 {n}（事件存在本机，恢复后按顺序发出）",
    "maintenance.uplink_none": "上行：未配置 · 待发送 {n}",
    "maintenance.faults": "故障 {n} 项（点一项查看处理方法）：",
    "maintenance.no_faults": "没有故障。",
    "maintenance.spots": "车位",
    "maintenance.review": "待核 {n}",
    "maintenance.reconcile": "全部核对",
    "maintenance.duty": "值班",
    "maintenance.session_ended": "您的值班已经结束，已退出。",
    "maintenance.spot_standard": "标准",
    "maintenance.spot_accessible": "无障碍",
    "maintenance.spot_ev": "充电",
    "maintenance.spot_motorcycle": "摩托车",
    "maintenance.spot_loading": "装卸",
    "maintenance.spot_in_service": "使用中",
    "maintenance.spot_out_of_service": "已停用",
    "grid.free": "空闲",
    "grid.occupied": "有件",
    "grid.open": "门开",
    "grid.jammed": "卡住",
    "grid.out_of_service": "停用",
    "grid.in_review": "待核",
    "grid.offline": "断线",
    "mark.free": "空",
    "mark.occupied": "占",
    "mark.open": "开",
    "mark.jammed": "卡",
    "mark.out_of_service": "停",
    "mark.in_review": "核",
    "mark.offline": "断",
    "gpio.tamper": "防拆开关",
    "gpio.motion": "人体感应",
    "gpio.buzzer": "蜂鸣器",
    "gpio.led_ok": "正常灯",
    "gpio.led_fault": "故障灯",
    "gpio.barrier": "道闸",
    "gpio.spot": "车位 {spot} 传感器",
    "gpio.open": "打开",
    "gpio.closed": "闭合",
    "gpio.active": "有人",
    "gpio.idle": "无人",
    "gpio.on": "开",
    "gpio.off": "关",
    "gpio.raised": "抬起",
    "gpio.lowered": "落下",
    "gpio.occupied": "有车",
    "gpio.free": "空",
    "comp.heading": "{door} · {size} · 锁控板 {cabinet} 第 {lock} 号锁",
    "comp.state": "状态：{state}",
    "comp.door": "门：{door}",
    "comp.sensor": "占用传感器：{sensor}",
    "comp.parcel": "包裹：{parcel}",
    "comp.unknown": "未知（锁控板无响应）",
    "comp.item": "有物品",
    "comp.empty": "空",
    "comp.no_parcel": "没有",
    "comp.review": "待核包裹 #{parcel}：{note}",
    "comp.force": "强制开门",
    "comp.out_of_service": "停用",
    "comp.in_service": "恢复使用",
    "comp.clear_fault": "清除故障",
    "comp.resolve": "处理待核",
    "parcel.deposit_pending": "正在投递",
    "parcel.stored": "已存放",
    "parcel.outgoing": "待寄出",
    "parcel.pickup_pending": "正在取件",
    "parcel.in_review": "待核",
    "reason.prompt": "原因（必填，会写入公开的审计记录）：",
    "reason.placeholder": "或用键盘输入原因",
    "reason.required": "请先选择或输入原因：每个维护操作都要写明原因。",
    "reason.working": "正在执行……",
    "reason.cancel": "取消",
    "reason.door_jammed": "柜门卡住，手动帮住户取件",
    "reason.door_repair": "检修或测试电磁锁",
    "reason.door_clean": "清洁或检查格口",
    "reason.door_review": "开门核对待核包裹",
    "reason.service_broken": "锁坏了，等待维修",
    "reason.service_damage": "门或合页损坏",
    "reason.service_sensor": "占用传感器故障",
    "reason.service_fixed": "已修好，测试正常",
    "reason.fault_fixed": "卡住的锁已修好",
    "reason.fault_tested": "已测试：开门关门都正常",
    "reason.review_seen": "开门看过，情况属实",
    "reason.review_household": "已和住户确认",
    "reason.review_courier": "已和快递员确认",
    "reason.reconcile_routine": "例行核对",
    "reason.reconcile_restart": "重启之后核对",
    "reason.reconcile_alarm": "传感器报警之后核对",
    "reason.spot_works": "路面或标线施工",
    "reason.spot_damage": "地锁或充电桩损坏",
    "reason.spot_event": "社区活动临时占用",
    "reason.spot_fixed": "已修好，恢复使用",
    "reason.handover_away": "临时有事，无法继续值班",
    "reason.handover_swap": "和其他志愿者换班",
    "reason.handover_ill": "身体不适",
    "action.force_door": "强制打开柜门 {subject}",
    "action.out_of_service": "停用格口 {subject}",
    "action.in_service": "恢复使用格口 {subject}",
    "action.clear_fault": "清除格口 {subject} 的故障",
    "action.resolve_review": "待核包裹 #{subject} → {outcome}",
    "action.reconcile": "核对全部格口：数据库 ↔ 占用传感器",
    "action.spot_out": "停用车位 {subject}",
    "action.spot_in": "恢复使用车位 {subject}",
    "action.handover": "把本班剩下的时间交给 {subject}",
    "done.force_door": "柜门 {subject} 已打开，已记入审计记录。",
    "done.out_of_service": "格口 {subject} 已停用。",
    "done.in_service": "格口 {subject} 已恢复使用。",
    "done.clear_fault": "格口 {subject} 的故障已清除。",
    "done.resolve_review": "待核包裹 #{subject} 已处理。",
    "done.spot_out": "车位 {subject} 已停用。",
    "done.spot_in": "车位 {subject} 已恢复使用。",
    "done.handover": "已交给 {subject}。您的值班结束，已退出。",
    "failed.force_door": "柜门 {subject} 没有打开（卡住了，或锁控板无响应）。"
                         "这次开门尝试已记入审计记录。",
    "failed.other": "没有执行：{error}",
    "review.title": "待核包裹：先点一个包裹，再选实际情况。",
    "review.none": "没有待核的包裹。",
    "review.item": "包裹 #{parcel} · {door} · {size} · {note}",
    "review.chosen": "包裹 #{parcel}（{door}）实际怎样？",
    "review.stored": "在柜里",
    "review.collected": "已取走",
    "review.returned": "已退回",
    "review.cancelled": "没有包裹",
    "review.help": "在柜里：取件码继续有效 · 已取走：格口空出 · 已退回：交还快递员 · "
                   "没有包裹：作废这条记录",
    "note.board_at_start": "启动时锁控板无响应",
    "note.open_after_restart": "重启后门是开着的",
    "note.deposit_no_sensor": "投递被中断，而且没有占用传感器",
    "note.open_with_parcel": "重启后门开着，包裹还在里面",
    "note.pickup_no_sensor": "取件被中断，而且没有占用传感器",
    "spots.title": "车位：点一个车位，停用或恢复使用。",
    "spots.none": "这个服务点没有登记车位。",
    "spots.item": "车位 {spot} · {type} · {state}",
    "reconcile.title": "核对结果：数据库 ↔ 占用传感器",
    "reconcile.agree": "全部一致。",
    "reconcile.found": "发现 {n} 处不一致（处理方法见故障列表里的传感器异常）：",
    "reconcile.item_in_free": "{door}：空闲格口里有物品",
    "reconcile.parcel_missing": "{door}：包裹不见了",
    "reconcile.board_silent": "{door}：锁控板无响应",
    "reconcile.other": "{door}：问题 {problem}",
    "roster.title": "值班表（公开）。由公平轮换算法排定，任何人都可以复核。",
    "roster.row": "{start} 至 {end}  {names}",
    "roster.now": "◀ 当前",
    "roster.none": "还没有排班。",
    "roster.counts": "累计值班：{counts}",
    "roster.handover": "把本班剩下的时间交给：",
    "runbook.check": "检查",
    "runbook.fix": "处理",
    "runbook.board_offline.title": "锁控板 {board} 无响应",
    "runbook.board_offline.check": "1. 锁控板有电吗？指示灯应当亮着；在电源端子上量一下电压。\n"
                                   "2. RS485 线两头都插紧了吗？A 接 A、B 接 B；"
                                   "接反了就完全没有应答。\n"
                                   "3. 其他锁控板有应答吗？如果都没有，多半是 USB–RS485 转换器或"
                                   "从树莓派出来的那段线有问题。\n"
                                   "4. 板上的地址拨码和配置文件一致吗（A = 0，B = 1……）？",
    "runbook.board_offline.fix": "1. 重新插好或更换线缆；A、B 接反的话对调过来。\n"
                                 "2. 给锁控板断电再上电：柜门保持锁着，不会丢东西。\n"
                                 "3. 板子恢复应答后会自动回到在线状态。之后点「全部核对」，"
                                 "比对数据库和传感器。\n"
                                 "离线期间它的格口不接收新包裹；里面的包裹是安全的，取件码继续有效。",
    "runbook.door_jammed.title": "柜门 {door} 卡住",
    "runbook.door_jammed.check": "1. 从维修侧看锁：锁舌卡住了吗？里面是否有东西顶着门（格口塞得太满"
                                 "）？\n"
                                 "2. 用力把门往里推，再试一次「强制开门」：能听到锁的咔嗒声吗？\n"
                                 "3. 这把锁在锁控板上的插头插紧了吗？",
    "runbook.door_jammed.fix": "1. 去掉顶门的压力后门能开：把顶着的东西取出，然后点「清除故障」。\n"
                               "2. 锁有咔嗒声但锁舌不动：锁舌变形或太脏，清洁或更换。\n"
                               "3. 完全没有声音：更换电磁锁或它的线；修好之前先把格口「停用」。\n"
                               "卡住的门后的包裹仍归原住户，门修好后取件码照常有效。",
    "runbook.door_left_open.title": "柜门 {door} 没有关",
    "runbook.door_left_open.check": "1. 有东西挡着门吗（包裹太大、带子露在外面）？\n"
                                    "2. 推上门时能锁住吗？听有没有咔嗒声。\n"
                                    "3. 看最近的事件：这扇门是因为取件、投递还是维护被打开的？",
    "runbook.door_left_open.fix": "1. 把门关紧；下一次检查时报警会自动解除。\n"
                                  "2. 锁舌扣不上：弹簧或锁扣磨损了，先「停用」这个格口，"
                                  "再安排维修。\n"
                                  "3. 如果包裹好像不见了，点「全部核对」并处理发现的问题。",
    "runbook.door_tamper.title": "柜门 {door} 在没有指令时被打开",
    "runbook.door_tamper.check": "1. 到现场看：门上有被撬的痕迹（边缘变形、划痕）吗？"
                                 "还是上次关门时锁舌没扣上？\n"
                                 "2. 里面本来应该有包裹吗？点「全部核对」。\n"
                                 "3. 查看它被打开前后的事件（社区有摄像头的话，也看看录像）。",
    "runbook.door_tamper.fix": "1. 把门关好，锁上后报警自动解除。\n"
                               "2. 如果是被撬开的：「停用」这个格口，通知包裹所属的住户，"
                               "并报告管委会。\n"
                               "3. 门自己弹开说明锁舌磨损，需要更换。",
    "runbook.cabinet_tamper.title": "机柜被打开",
    "runbook.cabinet_tamper.check": "1. 机柜的维修门开着吗？现在有人在里面维修吗？\n"
                                    "2. 如果没有人：检查维修门的锁和合页有没有损坏。\n"
                                    "3. 防拆开关松了吗？维修门关上时必须压住它。",
    "runbook.cabinet_tamper.fix": "1. 关好并锁上机柜，防拆开关重新被压住后报警解除。\n"
                                  "2. 开关松动或损坏：重新固定或更换；修好之前报警会一直存在。\n"
                                  "3. 如果是被撬开的，报告管委会，并点「全部核对」。",
    "runbook.sensor_mismatch.title": "{door} 的传感器和数据库不一致",
    "runbook.sensor_mismatch.check": "1. 「强制开门」（写明原因）后看看里面。\n"
                                     "2. 「空闲格口里有物品」：有人落下了东西，"
                                     "或者没有登记就放进了东西。\n"
                                     "3. 「包裹不见了」：包裹被拿走了，或者传感器脏了、坏了。",
    "runbook.sensor_mismatch.fix": "1. 落下的东西：取出并替失主保管，在原因里写明。\n"
                                   "2. 包裹不见了：先和管委会一起查这个格口的事件记录。\n"
                                   "3. 擦干净后传感器仍然不对：「停用」格口，直到更换传感器。\n"
                                   "4. 最后点「全部核对」，确认两边重新一致。",
    "runbook.parcel_in_review.title": "{door} 里的包裹 #{parcel} 需要核定",
    "runbook.parcel_in_review.check": "1. 看它为什么待核（显示在包裹旁边）："
                                      "多半是投递或取件时正好重启了。\n"
                                      "2. 「强制开门」看看：包裹在不在里面？\n"
                                      "3. 有条件的话问一下快递员或住户。",
    "runbook.parcel_in_review.fix": "在「待核」里选择您看到的情况：\n"
                                    "· 在柜里：包裹还在，住户的取件码继续有效。\n"
                                    "· 已取走：住户或快递员已经拿走，格口空出。\n"
                                    "· 已退回：已交还快递员。\n"
                                    "· 没有包裹：投递中途放弃，作废这条记录。\n"
                                    "您的决定和原因会写入公开的审计记录。",
    "runbook.uplink_down.title": "上行网络中断",
    "runbook.uplink_down.check": "1. 网络通吗？检查路由器和本机的网线或 Wi-Fi。\n"
                                 "2. 社区的消息服务器（broker）在运行、能连上吗？问问负责它的人。\n"
                                 "3. 本机的 MQTT 密码或证书改过吗？证书过期了吗？",
    "runbook.uplink_down.fix": "1. 恢复网络；几秒钟内本机会自动重连。\n"
                               "2. 期间不会丢任何东西：事件保存在本机的发件箱里，恢复后按顺序发出。"
                               "\n"
                               "3. 如果服务器拒绝连接，改正 /etc/kiosk/kiosk.toml 里的 [mqtt] "
                               "设置，"
                               "然后重启本机程序。",
    "runbook.uplink_backlog.title": "有 {n} 条事件等待发送",
    "runbook.uplink_backlog.check": "1. 上行在线吗？不在线的话，看「上行网络中断」的处理方法。\n"
                                    "2. 在线的话，数字在减少吗？断网之后积压的事件几分钟内就会发完"
                                    "。\n"
                                    "3. 在线却还在增长：服务器太慢或在拒收（它的日志里会出现本机）"
                                    "，"
                                    "或者磁盘满了。",
    "runbook.uplink_backlog.fix": "1. 等它发完。千万不要删除本机的数据库：积压的事件是社区的记录。"
                                  "\n"
                                  "2. 检查本机的剩余磁盘空间（df -h /var/lib/kiosk）。\n"
                                  "3. 请服务器管理员检查队列上限（max_queued_messages）。",
    "runbook.locker_full.title": "没有空闲的{size}格口",
    "runbook.locker_full.check": "1. 有格口停用或卡住吗？能用的先恢复。\n"
                                 "2. 包裹存放时间比平常长吗？系统会自动提醒住户；"
                                 "超期的由快递员带回。\n"
                                 "3. 多久发生一次？每次满柜都计入社区规划。",
    "runbook.locker_full.fix": "1. 把修好的格口恢复使用。\n"
                               "2. 小包裹已经会自动放进空着的大格口，这里不需要调整。\n"
                               "3. 如果经常满柜，把规划里的数字带到全体大会讨论：可能需要增加格口。"
                               "收费或优先权从来都不是办法。",
    "runbook.other.title": "故障 {kind} {subject}",
    "runbook.other.check": "1. 看最近的事件：它从什么时候开始？之前发生了什么？\n"
                           "2. 检查它提到的设备。",
    "runbook.other.fix": "1. 在下一个操作的原因里写下您发现的情况。\n"
                         "2. 如果这是新问题，问问其他志愿者，并为它补写处理方法。",
    "demo.help_title": "演示帮助 · 居民手机上的通知",
    "demo.loading": "读取中……",
    "demo.phone": "取件码（居民手机）",
    "demo.unit": "单元",
    "demo.code": "取件码",
    "demo.parcels": "件数",
    "demo.no_codes": "暂无待取包裹",
    "demo.pins": "PIN 码",
    "demo.who": "谁",
    "demo.pin": "PIN",
    "demo.courier": "快递员 {name}",
    "demo.on_duty": "值班 {name}",
    "demo.household": "单元 {unit}",
    "demo.more_households": "其他单元：单元号 + 0",
    "demo.help_keys": "F1 本帮助 · F2 模拟硬件 · Esc 关闭",
    "demo.close": "关闭",
    "demo.hardware_title": "模拟硬件：点一个柜门，再选动作",
    "demo.open": "开",
    "demo.shut": "关",
    "demo.item": "■",
    "demo.jammed": "卡",
    "demo.selected": "已选 {door}",
    "demo.tamper_open": "防拆开关：机柜打开",
    "demo.tamper_closed": "防拆开关：正常",
    "demo.put_shut": "放入并关门",
    "demo.shut_door": "关门",
    "demo.put": "放入物品",
    "demo.take": "取出物品",
    "demo.jam": "卡住/解除",
    "demo.force": "撬开",
    "demo.tamper": "防拆开关",
    "demo.hardware_keys": "回车 放入并关门 · S 关门 · P 放入 · T 取出 · J 卡住 · "
                          "F 撬开 · X 防拆 · 方向键 选门 · Esc 关闭",
    "demo.parking_title": "停车登录（单元号 + PIN）",
    "demo.parking_login": "单元 {unit} PIN {pin}",
    "demo.parking_spot": "车位 {spot}",
    "demo.parking_need": "无障碍需要",
    "demo.parking_worker": "社区工作人员",
    "demo.parking_more": "其他单元：单元号 + 0",
    "demo.spots_title": "车位（1–0）",
    "demo.spot_car": "有车",
    "demo.spot_free": "空",
    "demo.barrier_up": "道闸：抬起",
    "demo.barrier_down": "道闸：放下",
    # --- added by tui-structure ---
    "error.calm": "抱歉，出了点问题。请再试一次，或联系值班维护人员。",
}

EN: dict[str, str] = {
    "app.title": "Community lockers",
    "home.welcome": "Hello! What would you like to do?",
    "home.pickup": "Pick up",
    "home.pickup_hint": "enter your code",
    "home.deposit": "Deposit",
    "home.deposit_hint": "for couriers",
    "home.send": "Send",
    "home.send_hint": "leave a parcel to go out",
    "home.parking": "Parking",
    "home.parking_hint": "car park register",
    "home.maintenance": "Maintenance",
    "home.maintenance_hint": "on-duty volunteers",
    "home.language": "中文",
    "home.language_hint": "切换到中文",
    "home.demo_keys": "demo: F1 codes and PINs · F2 simulated hardware",
    "home.starting": "Starting up, one moment…",
    "key.back": "⌫ Del",
    "key.clear": "Clear",
    "key.ok": "OK",
    "nav.back": "Back",
    "nav.done": "Done",
    "door.place": "cabinet {cabinet}, door {number} ({door})",
    "door.open": "open",
    "door.shut": "shut",
    "status.uplink_up": "uplink ● online",
    "status.uplink_down": "uplink ○ offline",
    "status.uplink_none": "uplink — not set up",
    "status.queued": "queued {n}",
    "status.checking": "checking the devices…",
    "fault.cabinet_tamper": "cabinet opened",
    "fault.board_offline": "lock board {board} not answering",
    "fault.door_jammed": "jammed {doors}",
    "fault.door_left_open": "left open {doors}",
    "fault.door_tamper": "forced open {doors}",
    "fault.sensor_mismatch": "sensor mismatch {doors}",
    "fault.other": "fault {what}",
    "pickup.title": "Pick up",
    "pickup.prompt": "Enter the code from your notification, then press OK.",
    "pickup.no_lookalikes": "Codes never contain 0, O, 1, I or L.",
    "pickup.too_short": "The code has {n} characters; please enter all of them.",
    "pickup.checking": "Checking, one moment…",
    "pickup.wrong": "That code is not right.",
    "pickup.wrong_hint": "Please check your notification and try again.",
    "pickup.blocked": "Too many wrong codes in a row.",
    "pickup.wait": "Please wait {s} s before the next try.",
    "pickup.try_again": "You can try again now.",
    "pickup.board_error": "The door controller cannot be reached. Your code stays valid; "
                          "please try again later.",
    "pickup.opened": "{n} door(s) opened for you:",
    "pickup.none_opened": "No door opened.",
    "pickup.nothing_waiting": "No parcels are waiting for this code.",
    "pickup.failed": "Door {doors} did not open: the parcel is still inside, your code "
                     "stays valid, and a maintainer has been told.",
    "pickup.shut_doors": "Take your parcels and shut the doors, please.",
    "pickup.done": "All done, thank you!",
    "deposit.title": "Deposit",
    "deposit.count": "{n} deposited this round",
    "deposit.pin_prompt": "Courier PIN, please.",
    "deposit.pin_short": "A PIN has at least 4 digits.",
    "deposit.pin_checking": "Checking…",
    "deposit.pin_wrong": "Wrong PIN.",
    "deposit.unit_prompt": "Unit of the addressee? Type it and press OK, or tap a unit below.",
    "deposit.unknown_unit": "There is no unit {unit}; please check.",
    "deposit.size_prompt": "Unit {unit}: how big is the parcel?",
    "deposit.put_and_shut": "Put the parcel for unit {unit} in ({size}), then shut the door.",
    "deposit.stored": "✓ {door} → unit {unit} stored. Next parcel:",
    "deposit.full": "No free {size} compartment or larger. This is recorded as demand for "
                    "the community's plan. Please take this parcel back.",
    "deposit.finish": "Finish",
    "size.S": "Small S",
    "size.M": "Medium M",
    "size.L": "Large L",
    "size.free": "{n} free",
    "size.uses": "uses an {size}",
    "size.full": "full",
    "slot.opening": "Opening a door…",
    "slot.door_open": "Door open: {place}",
    "slot.put_and_shut": "Put the parcel in ({size}), then shut the door.",
    "slot.cancel": "Cancel this one",
    "slot.cancel_shut": "This parcel will not be recorded. Take it out and shut door {door}.",
    "slot.checking": "Checking…",
    "slot.jammed": "Door {door} did not open and is reported. Choose the size again for "
                   "another door.",
    "slot.empty": "Nothing was detected in {door}; this one is cancelled.",
    "slot.cancelled": "Cancelled; {door} is free again.",
    "slot.unconfirmed": "Door {door} could not be checked; a maintainer will look at it.",
    "slot.board_error": "The door controller cannot be reached; please try again later.",
    "send.title": "Send",
    "send.unit_prompt": "Your unit?",
    "send.pin_prompt": "Your household PIN?",
    "send.login_wrong": "Unit or PIN not right.",
    "send.size_prompt": "How big is the parcel you are sending?",
    "send.put_and_shut": "Put the outgoing parcel in ({size}), then shut the door.",
    "send.full": "No free {size} compartment or larger. Recorded as demand; please come "
                 "back later.",
    "send.done": "✓ In door {door}. A courier will collect it. Thank you!",
    "parking.title": "Parking",
    "parking.menu_prompt": "Parking: log in for your own spot, or read the public board "
                           "(no login).",
    "parking.menu_login": "My parking\nlog in with unit + PIN",
    "parking.menu_board": "Public board\nallocations and the next draw",
    "parking.unit_prompt": "Parking login: your unit?",
    "parking.pin_prompt": "Your parking PIN?",
    "parking.pin_prompt_unit": "Unit {unit}: your parking PIN?",
    "parking.login_wrong": "Unit or PIN not right.",
    "parking.login_blocked": "Too many wrong PINs in a row.",
    "parking.login_hint": "Enter your unit again, then your PIN.",
    "parking.note_member": "unit {unit} · pseudonym {member}",
    "parking.loading": "Loading…",
    "parking.my_spot": "My spot: {spot} ({type}), round {round}",
    "parking.no_spot": "My spot: none this round.",
    "parking.round_asked": "Round {round} takes requests: you asked for {type}.",
    "parking.round_not_asked": "Round {round} takes requests: you have not asked.",
    "parking.round_busy": "Round {round} is being drawn; requests open again after the draw.",
    "parking.round_busy_asked": "Round {round} is being drawn: you asked for {type}.",
    "parking.reservations": "My reservations:",
    "parking.reservation_line": "{spot} {type} · {kind} · {span} · {status}",
    "parking.checkin_from": ", check in from {time}",
    "parking.waitlist_line": "Waitlist: {type} · {span} · number {n} in turn",
    "parking.offer_line": "Spot {spot} is held for you until {time}: accept or decline.",
    "parking.history": "History:",
    "parking.history_spot": "{round} {spot}",
    "parking.history_released": "{round} {spot} (given back)",
    "parking.history_refused": "{round} no spot ({type})",
    "parking.history_reservation": "reserved {when} {spot} {status}",
    "parking.history_none": "Nothing yet.",
    "parking.type_standard": "standard",
    "parking.type_accessible": "accessible",
    "parking.type_ev": "EV charging",
    "parking.type_motorcycle": "motorcycle",
    "parking.type_loading": "loading bay",
    "parking.kind_visitor": "visitor",
    "parking.kind_moving": "moving day",
    "parking.status_booked": "booked",
    "parking.status_checked_in": "checked in",
    "parking.status_held": "held for you",
    "parking.status_completed": "used",
    "parking.status_no_show": "no-show",
    "parking.status_cancelled": "cancelled",
    "parking.status_lapsed": "offer lapsed",
    "parking.round_open": "taking requests",
    "parking.round_closed": "closed, waiting for the public random value",
    "parking.round_committed": "inputs committed",
    "parking.round_drawn": "drawn",
    "parking.today_at": "today {hm}",
    "parking.tomorrow_at": "tomorrow {hm}",
    "parking.date_at": "{month}-{day} {hm}",
    "parking.act_request": "Request a spot",
    "parking.act_change": "Change request",
    "parking.act_withdraw": "Withdraw",
    "parking.act_release": "Give back spot",
    "parking.act_reserve": "Reserve a slot",
    "parking.act_checkin": "Check in",
    "parking.act_cancel": "Cancel booking",
    "parking.act_accept": "Accept offer",
    "parking.act_decline": "Decline offer",
    "parking.act_gate": "Open the gate",
    "parking.act_logout": "Log out",
    "parking.gate_up": "Gate is up",
    "parking.gate_open": "The gate is up; it comes down in {s} s.",
    "parking.gate_down": "The gate is down again.",
    "parking.confirm_release": "Give back spot {spot}? Others can reserve it until the next "
                               "draw. Press again to confirm.",
    "parking.confirm_withdraw": "Withdraw your request for round {round}? Press again to "
                                "confirm.",
    "parking.confirm_cancel": "Cancel your booking of spot {spot}? Press again to confirm.",
    "parking.confirm_decline": "Decline spot {spot}? It goes to the next in turn. Press again "
                               "to confirm.",
    "parking.confirm_again": "Press again to confirm.",
    "parking.done_request": "Asked for a {type} spot in round {round}. The draw is fair: the "
                            "least served go first.",
    "parking.done_withdraw": "Request for round {round} withdrawn.",
    "parking.done_release": "Spot {spot} given back. Thank you!",
    "parking.done_checkin": "Checked in on spot {spot}.",
    "parking.done_cancel": "Booking cancelled.",
    "parking.done_accept": "Spot {spot} is yours: {span}.",
    "parking.done_decline": "Declined; the spot goes to the next in turn.",
    "parking.done_reserved": "Booked: spot {spot}, {span}.",
    "parking.done_waitlisted": "No {type} spot is free then: you are number {n} on the "
                               "waitlist. Freed spots are offered in turn, not to the "
                               "quickest. Recorded as demand.",
    "parking.request_prompt": "Round {round}: which kind of spot? Asking again changes the "
                              "type.",
    "parking.request_fair": "The draw is fair: the least served over time go first; ties by "
                            "a random value published in advance.",
    "parking.type_choice": "spots {spots} · asking {askers}",
    "parking.reserve_prompt": "Reserve a slot (visitor, moving day): type, day, start, length.",
    "parking.today": "Today",
    "parking.tomorrow": "Tomorrow",
    "parking.hours": "{n} h",
    "parking.reserve_summary": "{type} spot, {span}, {kind}",
    "parking.reserve_go": "Reserve",
    "parking.why_need": "Accessible spots are for members with a declared need.",
    "parking.why_no_request": "You have no request in the open round.",
    "parking.why_not_held": "You hold no spot this round.",
    "parking.why_slot_over": "That slot is over; choose a later one.",
    "parking.why_too_long": "That slot is longer than allowed.",
    "parking.why_overlap": "You already have a booking or a waitlist place then.",
    "parking.why_check_in_later": "Check-in opens {time}.",
    "parking.why_no_offer": "That offer is no longer open.",
    "parking.why_gate": "The gate opens for members with a spot this round or a checked-in "
                        "booking.",
    "parking.why_other": "Not done: {detail}",
    "parking.board_spots": "Spots now:",
    "parking.col_type": "type",
    "parking.col_spots": "spots",
    "parking.col_free": "free",
    "parking.col_held": "allocated",
    "parking.col_reserved": "reserved",
    "parking.col_out": "out of service",
    "parking.board_next": "Next draw: round {round}, {state}, {n} requests",
    "parking.board_next_none": "Next round {round}: opens with the first request.",
    "parking.board_allocations": "Allocations, round {round} (pseudonyms, {n}):",
    "parking.board_no_allocations": "No round drawn yet.",
    "parking.board_last": "Last draw: round {round}, {n} requests, {when}",
    "parking.board_verify": "Anyone can re-check: kiosk parking verify RECORD --commitment "
                            "INPUTS",
    "parking.label_closed": "closed",
    "parking.label_eligible": "eligible",
    "parking.label_algorithm": "algorithm",
    "parking.label_random": "random",
    "parking.label_inputs": "inputs",
    "parking.label_results": "results",
    "maintenance.title": "Maintenance",
    "maintenance.pin_prompt": "On-duty maintainer: your duty PIN, please.",
    "maintenance.pin_short": "A duty PIN has at least 6 digits.",
    "maintenance.checking": "Checking…",
    "maintenance.pin_wrong": "Wrong PIN.",
    "maintenance.off_shift": "This PIN is not on duty now: only whoever the roster has on the "
                             "current shift can log in.",
    "maintenance.on_duty_now": "On duty now: {names}",
    "maintenance.nobody_on_duty": "Nobody is on duty now.",
    "maintenance.roster": "Roster",
    "maintenance.logged_in": "on duty: {name}",
    "maintenance.logout": "Log out",
    "maintenance.loading": "Reading the devices…",
    "maintenance.hint": "Tap a compartment to see and act on it; tap a fault for its runbook.",
    "maintenance.free": "Free: {counts}",
    "maintenance.board": "board {label} (address {board}): {state} · {errors} failed polls",
    "maintenance.board_online": "online",
    "maintenance.board_offline": "OFFLINE",
    "maintenance.bus": "bus: timeouts {timeouts} · bad frames {bad_frames} · "
                       "retries {retries} · dropped bytes {dropped_bytes}",
    "maintenance.gpio": "GPIO: {readings}",
    "maintenance.no_gpio": "GPIO: no peripherals fitted",
    "maintenance.uplink_up": "uplink: online · queued {n}",
    "maintenance.uplink_down": "uplink: OFFLINE · queued {n} (kept here, sent in order later)",
    "maintenance.uplink_none": "uplink: not set up · queued {n}",
    "maintenance.faults": "{n} fault(s) — tap one for its runbook:",
    "maintenance.no_faults": "No faults.",
    "maintenance.spots": "Spots",
    "maintenance.review": "Review {n}",
    "maintenance.reconcile": "Reconcile",
    "maintenance.duty": "Duty",
    "maintenance.session_ended": "Your shift has ended; you are logged out.",
    "maintenance.spot_standard": "standard",
    "maintenance.spot_accessible": "accessible",
    "maintenance.spot_ev": "EV",
    "maintenance.spot_motorcycle": "motorcycle",
    "maintenance.spot_loading": "loading",
    "maintenance.spot_in_service": "in service",
    "maintenance.spot_out_of_service": "out of service",
    "grid.free": "free",
    "grid.occupied": "parcel",
    "grid.open": "open",
    "grid.jammed": "jammed",
    "grid.out_of_service": "disabled",
    "grid.in_review": "in review",
    "grid.offline": "offline",
    "mark.free": ".",
    "mark.occupied": "#",
    "mark.open": "O",
    "mark.jammed": "!",
    "mark.out_of_service": "x",
    "mark.in_review": "?",
    "mark.offline": "~",
    "gpio.tamper": "tamper",
    "gpio.motion": "motion",
    "gpio.buzzer": "buzzer",
    "gpio.led_ok": "OK LED",
    "gpio.led_fault": "fault LED",
    "gpio.barrier": "barrier",
    "gpio.spot": "spot {spot} sensor",
    "gpio.open": "open",
    "gpio.closed": "closed",
    "gpio.active": "active",
    "gpio.idle": "idle",
    "gpio.on": "on",
    "gpio.off": "off",
    "gpio.raised": "raised",
    "gpio.lowered": "lowered",
    "gpio.occupied": "occupied",
    "gpio.free": "free",
    "comp.heading": "{door} · {size} · board {cabinet}, lock {lock}",
    "comp.state": "State: {state}",
    "comp.door": "Door: {door}",
    "comp.sensor": "Occupancy sensor: {sensor}",
    "comp.parcel": "Parcel: {parcel}",
    "comp.unknown": "unknown (the board is not answering)",
    "comp.item": "item inside",
    "comp.empty": "empty",
    "comp.no_parcel": "none",
    "comp.review": "Parcel #{parcel} in review: {note}",
    "comp.force": "Force open",
    "comp.out_of_service": "Out of service",
    "comp.in_service": "Back in service",
    "comp.clear_fault": "Clear fault",
    "comp.resolve": "Resolve review",
    "parcel.deposit_pending": "being deposited",
    "parcel.stored": "stored",
    "parcel.outgoing": "waiting to go out",
    "parcel.pickup_pending": "being picked up",
    "parcel.in_review": "in review",
    "reason.prompt": "Reason (required; it goes into the public audit log):",
    "reason.placeholder": "or type a reason on a keyboard",
    "reason.required": "Choose or type a reason first: every maintainer action needs one.",
    "reason.working": "Working…",
    "reason.cancel": "Cancel",
    "reason.door_jammed": "jammed: freeing a parcel",
    "reason.door_repair": "repairing or testing the lock",
    "reason.door_clean": "cleaning or inspecting",
    "reason.door_review": "checking a parcel in review",
    "reason.service_broken": "broken lock, awaiting repair",
    "reason.service_damage": "door or hinge damaged",
    "reason.service_sensor": "occupancy sensor faulty",
    "reason.service_fixed": "repaired and tested",
    "reason.fault_fixed": "jammed lock repaired",
    "reason.fault_tested": "tested: opens and shuts",
    "reason.review_seen": "seen inside the compartment",
    "reason.review_household": "confirmed with the household",
    "reason.review_courier": "confirmed with the courier",
    "reason.reconcile_routine": "routine check",
    "reason.reconcile_restart": "check after a restart",
    "reason.reconcile_alarm": "check after a sensor alarm",
    "reason.spot_works": "surface or marking works",
    "reason.spot_damage": "bollard or charger damaged",
    "reason.spot_event": "community event uses the spot",
    "reason.spot_fixed": "repaired, back in use",
    "reason.handover_away": "called away, cannot go on",
    "reason.handover_swap": "swapping shifts",
    "reason.handover_ill": "unwell",
    "action.force_door": "Force door {subject} open",
    "action.out_of_service": "Take compartment {subject} out of service",
    "action.in_service": "Return compartment {subject} to service",
    "action.clear_fault": "Clear the fault of compartment {subject}",
    "action.resolve_review": "Parcel #{subject} in review → {outcome}",
    "action.reconcile": "Reconcile all compartments: database against occupancy sensors",
    "action.spot_out": "Take spot {subject} out of service",
    "action.spot_in": "Return spot {subject} to service",
    "action.handover": "Hand the rest of this shift to {subject}",
    "done.force_door": "Door {subject} is open; logged in the audit log.",
    "done.out_of_service": "Compartment {subject} is out of service.",
    "done.in_service": "Compartment {subject} is back in service.",
    "done.clear_fault": "The fault of compartment {subject} is cleared.",
    "done.resolve_review": "Parcel #{subject} is settled.",
    "done.spot_out": "Spot {subject} is out of service.",
    "done.spot_in": "Spot {subject} is back in service.",
    "done.handover": "Handed over to {subject}. Your shift is over; you are logged out.",
    "failed.force_door": "Door {subject} did not open (jammed, or the board is not answering). "
                         "The attempt is logged in the audit log.",
    "failed.other": "Not done: {error}",
    "review.title": "Parcels in review: tap a parcel, then what is really the case.",
    "review.none": "No parcel is in review.",
    "review.item": "parcel #{parcel} · {door} · {size} · {note}",
    "review.chosen": "Parcel #{parcel} ({door}): what is really the case?",
    "review.stored": "Inside",
    "review.collected": "Collected",
    "review.returned": "Returned",
    "review.cancelled": "No parcel",
    "review.help": "Inside: its code keeps working · Collected: the compartment is freed · "
                   "Returned: back with the courier · No parcel: the record is cancelled",
    "note.board_at_start": "the board did not answer at start-up",
    "note.open_after_restart": "the door was open after a restart",
    "note.deposit_no_sensor": "a deposit was interrupted; no occupancy sensor",
    "note.open_with_parcel": "the door was open with the parcel inside after a restart",
    "note.pickup_no_sensor": "a pickup was interrupted; no occupancy sensor",
    "spots.title": "Car park spots: tap one to take it out of service or back.",
    "spots.none": "No spots are registered at this kiosk.",
    "spots.item": "spot {spot} · {type} · {state}",
    "reconcile.title": "Reconciled: database against occupancy sensors",
    "reconcile.agree": "They all agree.",
    "reconcile.found": "{n} mismatch(es) (see the sensor mismatch runbook in the fault list):",
    "reconcile.item_in_free": "{door}: an item in a free compartment",
    "reconcile.parcel_missing": "{door}: the parcel is missing",
    "reconcile.board_silent": "{door}: its board did not answer",
    "reconcile.other": "{door}: {problem}",
    "roster.title": "Duty roster (public). Drawn by the fair rotation; anyone can re-check it.",
    "roster.row": "{start} – {end}  {names}",
    "roster.now": "◀ now",
    "roster.none": "No shifts rostered yet.",
    "roster.counts": "Shifts so far: {counts}",
    "roster.handover": "Hand the rest of this shift to:",
    "runbook.check": "What to check",
    "runbook.fix": "How to fix it",
    "runbook.board_offline.title": "Lock board {board} is not answering",
    "runbook.board_offline.check": "1. Is the board powered? Its LED should be lit; measure the "
                                   "supply at its terminals.\n"
                                   "2. Is the RS485 cable seated at both ends, A to A and B to B? "
                                   "Crossed wires give silence.\n"
                                   "3. Do the other boards answer? If none does, suspect the "
                                   "USB–RS485 adapter or the cable from the Pi.\n"
                                   "4. Is the board's address switch set as in the config "
                                   "(A = 0, B = 1, …)?",
    "runbook.board_offline.fix": "1. Reseat or replace the cable; swap A and B if they were "
                                 "crossed.\n"
                                 "2. Power the board off and on again: the doors stay shut, "
                                 "nothing is lost.\n"
                                 "3. It comes back by itself once it answers. Then run Reconcile "
                                 "to compare the database with the sensors.\n"
                                 "While it is offline its compartments take no parcels; parcels "
                                 "inside stay safe and their codes stay valid.",
    "runbook.door_jammed.title": "Door {door} is jammed",
    "runbook.door_jammed.check": "1. From the service side, look at the lock: is the latch "
                                 "stuck? Is something pressing on the door from inside (an "
                                 "over-full compartment)?\n"
                                 "2. Push the door in firmly and try Force open once: does the "
                                 "lock click?\n"
                                 "3. Is the lock's plug on the board seated?",
    "runbook.door_jammed.fix": "1. If the door opens once the pressure is off it, take out what "
                               "pressed on it, then Clear fault.\n"
                               "2. If the lock clicks but the latch does not move, the latch is "
                               "bent or dirty: clean or replace it.\n"
                               "3. If nothing clicks, replace the lock or its cable; until then "
                               "take the compartment out of service.\n"
                               "A parcel behind a jammed door stays its household's: the code "
                               "works again once the door opens.",
    "runbook.door_left_open.title": "Door {door} was left open",
    "runbook.door_left_open.check": "1. Is something stopping the door from shutting (a parcel "
                                    "too big, a strap)?\n"
                                    "2. Does it latch when you push it shut? Listen for the "
                                    "click.\n"
                                    "3. Look at the latest events: was it opened for a pickup, "
                                    "a deposit or by a maintainer?",
    "runbook.door_left_open.fix": "1. Shut the door firmly; the alarm clears by itself at the "
                                  "next check.\n"
                                  "2. If the latch does not catch, its spring or strike plate is "
                                  "worn: take the compartment out of service and have it "
                                  "repaired.\n"
                                  "3. If a parcel seems to be missing, run Reconcile and settle "
                                  "what it finds.",
    "runbook.door_tamper.title": "Door {door} opened without a command",
    "runbook.door_tamper.check": "1. Go and look: is the door forced (bent edge, marks), or did "
                                 "the latch simply not catch last time?\n"
                                 "2. Is there meant to be a parcel inside? Run Reconcile.\n"
                                 "3. Check the events (and the camera, if the community has one) "
                                 "around the time it opened.",
    "runbook.door_tamper.fix": "1. Shut the door; when it latches the alarm clears.\n"
                               "2. If it was forced: take the compartment out of service, tell "
                               "the household whose parcel it held, and report it to the "
                               "committee.\n"
                               "3. A door that springs open by itself has a worn latch: replace "
                               "it.",
    "runbook.cabinet_tamper.title": "The cabinet is open",
    "runbook.cabinet_tamper.check": "1. Is the cabinet's service door open? Is someone working "
                                    "on it right now?\n"
                                    "2. If nobody is: look for damage to its lock and hinges.\n"
                                    "3. Is the tamper switch loose? The shut door must press it.",
    "runbook.cabinet_tamper.fix": "1. Close and lock the cabinet; the alarm clears when the "
                                  "switch is pressed again.\n"
                                  "2. A loose or broken switch: refit or replace it; until then "
                                  "the alarm stays.\n"
                                  "3. If it was broken into, report it to the committee and run "
                                  "Reconcile.",
    "runbook.sensor_mismatch.title": "Sensor and database disagree at {door}",
    "runbook.sensor_mismatch.check": "1. Force the door open (with a reason) and look inside.\n"
                                     "2. \"An item in a free compartment\": something was left "
                                     "behind, or put in without a deposit.\n"
                                     "3. \"The parcel is missing\": it was taken, or the sensor "
                                     "is dirty or faulty.",
    "runbook.sensor_mismatch.fix": "1. Something left behind: take it out and keep it for its "
                                   "owner; say so in the reason.\n"
                                   "2. A parcel missing: go through that compartment's events "
                                   "with the committee before anything else.\n"
                                   "3. A sensor that is wrong even when clean: take the "
                                   "compartment out of service until it is replaced.\n"
                                   "4. Finish with Reconcile to confirm they agree again.",
    "runbook.parcel_in_review.title": "Parcel #{parcel} in {door} needs a decision",
    "runbook.parcel_in_review.check": "1. Read why it is in review (shown with the parcel): "
                                      "usually a deposit or pickup cut short by a restart.\n"
                                      "2. Force the door open and look: is the parcel there?\n"
                                      "3. Ask the courier or the household if you can.",
    "runbook.parcel_in_review.fix": "Under Review, choose what you found:\n"
                                    "· Inside: the parcel is there; its code keeps working.\n"
                                    "· Collected: the household or courier has it; the "
                                    "compartment is freed.\n"
                                    "· Returned: it went back with the courier.\n"
                                    "· No parcel: an abandoned deposit; the record is "
                                    "cancelled.\n"
                                    "Your decision and reason go into the public audit log.",
    "runbook.uplink_down.title": "The uplink is down",
    "runbook.uplink_down.check": "1. Is the network up? Check the router and the kiosk's cable "
                                 "or Wi-Fi.\n"
                                 "2. Is the community's broker running and reachable? Ask "
                                 "whoever runs it.\n"
                                 "3. Were the kiosk's MQTT password or certificate changed, or "
                                 "has the certificate expired?",
    "runbook.uplink_down.fix": "1. Restore the network; the kiosk reconnects by itself within "
                               "seconds.\n"
                               "2. Nothing is lost meanwhile: events wait in the kiosk's outbox "
                               "and are sent in order.\n"
                               "3. If the broker refuses the kiosk, correct [mqtt] in "
                               "/etc/kiosk/kiosk.toml and restart the kiosk.",
    "runbook.uplink_backlog.title": "{n} events are waiting to be sent",
    "runbook.uplink_backlog.check": "1. Is the uplink online? If not, see the runbook for a "
                                    "down uplink.\n"
                                    "2. If it is online, is the number falling? After an outage "
                                    "a backlog drains within minutes.\n"
                                    "3. If it grows while online: the broker is slow or refusing "
                                    "(its log names the kiosk), or the disk is full.",
    "runbook.uplink_backlog.fix": "1. Let it drain. Never delete the kiosk's database: the "
                                  "backlog is the community's record.\n"
                                  "2. Check the free disk space on the kiosk "
                                  "(df -h /var/lib/kiosk).\n"
                                  "3. Ask the broker's administrator to check its queue limits "
                                  "(max_queued_messages).",
    "runbook.locker_full.title": "No free {size} compartment",
    "runbook.locker_full.check": "1. Are compartments out of service or jammed? Bring back "
                                 "those that work.\n"
                                 "2. Are parcels waiting longer than usual? Reminders go out by "
                                 "themselves; couriers take back overdue ones.\n"
                                 "3. How often does it happen? Every full bank is counted in "
                                 "the community plan.",
    "runbook.locker_full.fix": "1. Return repaired compartments to service.\n"
                               "2. Smaller parcels already go into larger free compartments; "
                               "nothing to change there.\n"
                               "3. If it keeps happening, bring the plan's figures to the "
                               "assembly: more compartments may be needed. A fee or a priority "
                               "is never the answer.",
    "runbook.other.title": "Fault {kind} {subject}",
    "runbook.other.check": "1. Look at the latest events: when did it start, and what came "
                           "before?\n"
                           "2. Check the device it names.",
    "runbook.other.fix": "1. Write what you find in the reason of your next action.\n"
                         "2. If it is new to you, ask the other volunteers, and write its "
                         "runbook.",
    "demo.help_title": "Demo help · the residents' phones",
    "demo.loading": "Loading…",
    "demo.phone": "Pickup codes (residents' phones)",
    "demo.unit": "unit",
    "demo.code": "code",
    "demo.parcels": "parcels",
    "demo.no_codes": "no parcels waiting",
    "demo.pins": "PINs",
    "demo.who": "who",
    "demo.pin": "PIN",
    "demo.courier": "courier {name}",
    "demo.on_duty": "on duty {name}",
    "demo.household": "unit {unit}",
    "demo.more_households": "other units: unit + 0",
    "demo.help_keys": "F1 this help · F2 simulated hardware · Esc close",
    "demo.close": "Close",
    "demo.hardware_title": "Simulated hardware: tap a door, then an action",
    "demo.open": "OPEN",
    "demo.shut": "shut",
    "demo.item": "■",
    "demo.jammed": "JAM",
    "demo.selected": "selected {door}",
    "demo.tamper_open": "tamper switch: cabinet OPEN",
    "demo.tamper_closed": "tamper switch: closed",
    "demo.put_shut": "Put in + shut",
    "demo.shut_door": "Shut door",
    "demo.put": "Put item",
    "demo.take": "Take item",
    "demo.jam": "Jam/unjam",
    "demo.force": "Force open",
    "demo.tamper": "Tamper",
    "demo.hardware_keys": "Enter put+shut · S shut · P put · T take · J jam · F force · "
                          "X tamper · arrows pick · Esc close",
    "demo.parking_title": "Parking logins (unit + PIN)",
    "demo.parking_login": "unit {unit} PIN {pin}",
    "demo.parking_spot": "spot {spot}",
    "demo.parking_need": "accessible need",
    "demo.parking_worker": "community worker",
    "demo.parking_more": "other units: unit + 0",
    "demo.spots_title": "Spots (1–0)",
    "demo.spot_car": "car",
    "demo.spot_free": "free",
    "demo.barrier_up": "barrier: UP",
    "demo.barrier_down": "barrier: down",
    # --- added by tui-structure ---
    "error.calm": "Sorry, something went wrong. Please try again, or ask the maintainer "
                  "on duty.",
}

CATALOGUES: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}


def translate(language: str, key: str, **values: object) -> str:
    """The string for ``key``; a missing key shows itself, so it is seen and fixed."""
    template = CATALOGUES[language].get(key, key)
    return template.format(**values) if values else template

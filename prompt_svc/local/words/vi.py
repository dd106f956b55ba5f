"""Vietnamese words of the local analyser (format: see `prompt_svc.local.lexicon`).

Written with diacritics for the reader; matching folds them away, so several words share a
folded form ("vẽ"/"về", "hồng"/"hông", "bàn"/"bạn"). Where that matters, the longer phrase
carries the meaning ("bên hông" is a view, bare "hồng" is pink) and `ctx:*` tags mark the few
words the analyser resolves from their position.
"""

from __future__ import annotations

TABLE: dict[str, str] = {
    "stop": """
        tôi | mình | bạn | em | anh ơi | cho | một | 1 | cái | chiếc | con | bức | tấm | những
        các | của | và | với | ở | tại | trong | trên | dưới | nhé | nhe | à | ạ | đi | ơi | giúp
        giùm | dùm | là | thì | để | được | đang | sẽ | đã | rồi | lại | nữa | lên | xuống
        ra | vào | qua | rất | thật | hay | như | nào | ấy | kia | thế | vậy | nhỉ | chứ
        luôn | cũng | mà | thôi | có | từ | bên | bên cạnh | sang | sau | trước | cao | cho mình
        cho tôi | cho em | giúp mình | giúp em | giúp tôi | giùm mình | khỏi | đôi | ngôi | căn
        quyển | chú | cô | ông | bà | đứa | lắm | quá | hơn | nhất | thêm | ngay | liền | gì đó
        hình như | theo | bằng | nhìn | tí | chút | lúc | khi | vừa | tăng | một chút
        đẹp đẹp | xíu | hãy | nhé bạn | có thể | có thể nào
    """,
    "ctx:bien": "biến = sea",
    "ctx:nha": "nhà | nha = house",
    "ctx:khong": "không",
    "gen": """
        vẽ | tạo | tạo ra | thiết kế | chụp | xem | cho xem | tô | phác họa | minh họa
        sáng tác | vẽ ra | tạo hình | làm ra | render | gen
    """,
    "make": "làm | làm cho",
    "want": "muốn | cần | thích | mình muốn | tôi muốn | em muốn | mình cần | xin | cho xin",
    "img": """
        ảnh | hình | hình ảnh | bức ảnh | bức hình | tấm ảnh | tấm hình | tranh | bức tranh
        bức vẽ | pic | ảnh chụp | hình vẽ
    """,
    "img+ref": """
        ảnh này | hình này | bức này | cái này | tấm này | ảnh đó | hình đó | ảnh của mình
        ảnh của em | ảnh mình | hình mình | ảnh em | này
    """,
    "transform": """
        biến thành | chuyển sang | chuyển | chuyển thể | đổi phong cách | đổi style | giống
        giống như | trông như | thành | chuyển ảnh sang | áp dụng | biến ảnh | biến hình
        chuyển đổi | đổi sang phong cách | làm thành
    """,
    "stylemark": "phong cách | kiểu | style | theo phong cách | theo kiểu | tông | hiệu ứng",
    "style": """
        hoạt hình | phim hoạt hình = cartoon; tranh sơn dầu | sơn dầu = oil painting
        màu nước | tranh màu nước = watercolor; vẽ chì | tranh vẽ chì | bút chì = pencil
        thủy mặc | tranh thủy mặc = ink wash; truyện tranh = comic; đen trắng = black and white
        hoạt hình 3d = 3d; tối giản = minimalist; chân thực | chân thật | như thật = photorealistic
        tranh vẽ | vẽ tay = illustration; cổ điển = vintage; hoài cổ = retro
        tranh lụa = silk painting; sơn mài = lacquer painting
    """,
    "bg": """
        phông nền | phông | nền | hậu cảnh | cảnh nền | phông phía sau | phông sau
        nền phía sau | cảnh phía sau | cảnh sau lưng | phía sau lưng = background
    """,
    "bgop": """
        xóa | xoá | bỏ | loại bỏ | tách | cắt | gỡ = remove
        thay | thay thế | đổi | thay đổi = replace
        làm mờ | mờ đi | nhòe = blur; trong suốt | không nền = transparent
    """,
    "bg+bgop": "xóa phông | xoá phông = blur; tách nền | xóa nền | xoá nền = remove",
    "place": "ghép | ghép mình vào | ghép vào | đặt mình vào | cho mình đứng ở | cho em đứng ở",
    "enh": """
        làm nét | nét | nét hơn | rõ nét | làm rõ | rõ hơn | bị mờ | mờ quá | ảnh mờ = sharpen
        độ nét | tăng độ nét = sharpen
        độ phân giải | phân giải | tăng độ phân giải = upscale; upscale = upscale
        nâng cấp | chất lượng | nâng cấp chất lượng | cải thiện | tăng chất lượng = enhance
        phục hồi | khôi phục | phục chế | sửa ảnh cũ | ảnh cũ = restore
        làm sáng | sáng hơn | ảnh sáng hơn | tối quá | bị tối | quá tối | thiếu sáng = relight
        chỉnh sáng | độ sáng | tăng độ sáng | tăng sáng = relight
        độ tương phản | tăng độ tương phản = enhance
        khử nhiễu | giảm nhiễu | khử noise | bị nhiễu hạt | nhiễu hạt = denoise
        lên màu | tô màu ảnh = colorize; làm đẹp | chỉnh sửa | sửa = enhance
    """,
    "quality": "4k | 8k | hd | sắc nét | chi tiết | chất lượng cao = high quality",
    "angle": """
        phía trước | mặt trước | đằng trước | góc trước | nhìn từ phía trước | chính diện = front
        từ trước | nhìn từ trước | trực diện = front
        góc chính diện | đầu xe = front
        3/4 phía trước | góc 3/4 | góc 3/4 phía trước | góc nghiêng phía trước = front_three_quarter
        góc nghiêng trước | nghiêng trước | góc nghiêng | nghiêng 3/4 = front_three_quarter
        3/4 phía sau | góc 3/4 phía sau | góc nghiêng phía sau = rear_three_quarter
        góc nghiêng sau = rear_three_quarter
        nghiêng sau = rear_three_quarter
        bên hông | hông xe | ngang | góc ngang | mặt bên | góc bên | bên trái | nhìn ngang = side
        góc hông | một bên | sườn xe | mặt hông = side
        bên phải | hông phải | mặt bên phải | góc bên phải = side_right
        phía sau | đằng sau | mặt sau | góc sau | phía đuôi | đuôi xe | góc đuôi = rear
        sau lưng | từ sau | nhìn từ sau | từ đằng sau = rear
        từ trên xuống | nhìn từ trên | từ trên cao | trên cao | nhìn từ trên cao | nhìn xuống = top
        góc trên | trên xuống | góc trên cao | từ trên | góc từ trên xuống | mặt trên = top
    """,
    "multi": """
        nhiều | khác nhau | khác | vài | một vài | mấy = some
        mọi | tất cả | tất cả các | toàn bộ | khắp | đủ = all
    """,
    "view": "góc | góc độ | góc nhìn | góc chụp | phía | hướng | mặt",
    "multi+view": "360 độ | xoay 360 | xoay vòng = some; mọi phía | bốn phía | 4 phía = all",
    "dismiss": "xin lỗi | thôi | không cần | để sau | nhầm | bỏ qua",
    "complain": """
        không thích | xấu | xấu quá | tệ | dở | không đẹp | không đúng | sai rồi | chưa đẹp
        chưa đúng | không ưng
    """,
    "greet": "xin chào | chào | chào bạn | alo | hello | hi | chào buổi sáng",
    "thanks": "cảm ơn | cám ơn | cảm ơn nhiều | cảm ơn bạn | thanks | tks | camon | cảm tạ",
    "bye": "tạm biệt | bye | bai bai | hẹn gặp lại | bái bai",
    "ack": """
        ok | oke | okie | okela | được rồi | hay quá | tuyệt vời | đẹp quá | xịn | đỉnh | quá đỉnh
        đẹp lắm | đẹp thật | đẹp ghê | xinh quá | ưng lắm
        ổn | ổn rồi | good | nice | tuyệt quá | xuất sắc | ưng quá | thích quá
    """,
    "q": """
        tại sao | vì sao | làm sao | làm thế nào | như thế nào | thế nào | bao nhiêu | bao lâu
        bao giờ | ở đâu | là gì | làm được gì | có phải
    """,
    "qweak": "gì | đâu | sao | chưa | hả",
    "chatverb": """
        hỗ trợ | mất phí | phí | giá | miễn phí | tải lên | đăng ký | tài khoản | hướng dẫn
        giải thích | tiếng việt | ngôn ngữ | lâu | lâu vậy | chậm | app | ứng dụng | hỏi
        chỉnh sửa ảnh được không | sử dụng | dùng
    """,
    "vehicle": "xe | ô tô | oto | xe hơi | xe ô tô | mẫu xe | xe con = car; xe máy = motorcycle",
    "color": """
        màu đỏ | đỏ | đỏ rực | đỏ tươi = red; màu trắng | trắng = white; màu đen | đen = black
        màu vàng | vàng = yellow; xanh | màu xanh | xanh dương | xanh biển | xanh lam = blue
        xanh nước biển | màu xanh dương = blue; xanh lá | xanh lá cây | màu xanh lá = green
        bạc | màu bạc = silver; xám | màu xám | ghi = gray; cam | màu cam = orange
        hồng | màu hồng = pink; tím | màu tím = purple; nâu | màu nâu = brown; màu be = beige
        xanh ngọc = turquoise; vàng kim | màu vàng kim = gold
    """,
    "body": """
        sedan; hatchback; suv | gầm cao | 7 chỗ = suv; bán tải | xe bán tải = pickup
        mui trần | xe mui trần = convertible; coupe; xe van | xe khách = van; crossover
    """,
    "noun:person": """
        cô gái | con gái | thiếu nữ | cô bé | gái = girl; chàng trai | con trai | cậu bé = boy
        đàn ông | người đàn ông = man; phụ nữ | người phụ nữ = woman; em bé | bé = baby
        trẻ em | trẻ con = children; người = person; chân dung = portrait; nhân vật = character
        phi hành gia = astronaut; ông lão | ông già | ông cụ = old man; bà lão | bà cụ = old woman
        ngư dân | người đánh cá = fisherman; ông lão đánh cá = old fisherman; cô dâu = bride
        gia đình = family; chiến binh = warrior; hiệp sĩ = knight; công chúa = princess
        siêu anh hùng = superhero; ông bà = grandparents; đánh cá = fisherman
    """,
    "noun:animal": """
        mèo | con mèo = cat; mèo con = kitten; chú chó | con chó = dog
        chó con | cún | cún con = puppy
        ngựa = horse; con cáo | cáo con = fox; con hổ = tiger; sư tử = lion; chim = bird
        rồng | con rồng = dragon; cá = fish; gà | con gà = chicken; gà trống = rooster
        gấu = bear; thỏ = rabbit; kỳ lân = unicorn; bướm = butterfly; con voi = elephant
        gấu trúc = panda; khủng long = dinosaur; rùa = turtle; cá heo = dolphin; cá voi = whale
        cá koi = koi fish; trâu = water buffalo
    """,
    "noun:scene": """
        bãi biển = beach; núi | núi non | ngọn núi = mountains; hồ = lake; hồ gươm = Hoan Kiem Lake
        rừng = forest; rừng rậm = jungle; thành phố = city; phố | đường phố | con phố = street
        phố cổ = old town; hội an = Hoi An; hà nội = Hanoi; sài gòn = Saigon
        vịnh hạ long | hạ long = Ha Long Bay; đà lạt = Da Lat; sa mạc = desert; sông = river
        bầu trời | trời = sky; vũ trụ | không gian = space; sao hỏa = Mars; mặt trăng = moon
        mặt trời = sun; trăng = moon; làng | làng quê = village; nông thôn = countryside
        cánh đồng = field
        đồng lúa | ruộng lúa = rice field; vườn = garden; công viên = park; tuyết = snow
        mưa = rain; đêm | ban đêm | về đêm = night; phong cảnh = landscape; cảnh = scene
        mùa đông = winter; mùa hè = summer; mùa thu = autumn; mùa xuân = spring; đường = road
        con đường = road; tháp eiffel = Eiffel Tower; phòng | căn phòng = room
        phòng khách = living room; quán cà phê = coffee shop; nhà thờ = church; chùa = pagoda
        cầu = bridge; đảo = island; thác nước = waterfall; biển | biển cả = sea; studio = studio
    """,
    "noun:object": """
        logo; hình nền = wallpaper; điện thoại = phone; kính râm | kính mát = sunglasses
        kính = glasses; áo dài = ao dai dress; áo = shirt; váy = dress; tóc = hair
        giày | đôi giày = shoes; sneaker | giày sneaker = sneakers; ghế = chair
        đèn lồng = lanterns; sách | quyển sách = book; robot; cốc | ly = cup; bát = bowl
        bát phở | tô phở = bowl of pho; phở bò = beef pho; cà phê = coffee
        bàn gỗ = wooden table; cái bàn = table
        gỗ = wood; căn nhà | ngôi nhà = house; nhà gỗ = wooden house; lâu đài = castle
        hoa = flowers; hoa sen = lotus flowers; hoa đào = peach blossoms
        hoa anh đào = cherry blossoms; cây = tree; sản phẩm = product; kiếm = sword
        mũ | nón = hat; nón lá = conical hat; bánh = cake; đồng hồ = watch; túi = bag
        cửa sổ = window; ảnh đại diện = profile picture; lúa = rice; đầy sao = starry
        bầu trời đầy sao = starry sky; nam = male; nữ = female; chàng = young man
        tiệm bánh = bakery; tiệm | cửa hàng = shop; bò = beef; con bò = cow; sofa | ghế sofa = sofa
        chai = bottle; xích lô = cyclo; thuyền = boat; máy bay = airplane; tàu = ship
        ngôi sao = star
    """,
    "adj": """
        dễ thương | đáng yêu | xinh | xinh xắn = cute; đẹp = beautiful; già | cũ = old
        trẻ = young; nhỏ | bé nhỏ = small; to lớn | khổng lồ = giant; hiện đại = modern
        dài = long; ngắn = short; ấm áp = warm; huyền ảo = magical; lãng mạn = romantic
        buồn = sad; vui = happy; béo | mập = chubby; mũm mĩm = chubby
    """,
    "act": """
        đứng = standing; ngồi = sitting; ngủ = sleeping; bay = flying; chạy = running
        chơi = playing; cưỡi = riding; đọc sách = reading a book; đeo | mặc = wearing
        đậu = parked; bốc khói = steaming; gáy = crowing; múa | nhảy = dancing
        bơi = swimming; cười = smiling; bên hồ = by the lake
    """,
    "light": """
        ánh sáng | ánh sáng tự nhiên = natural light; ánh sáng kịch tính = dramatic lighting
        kịch tính = dramatic; ánh sáng dịu | ánh sáng mềm = soft lighting; nắng = sunlight
        hoàng hôn = sunset; bình minh = sunrise; giờ vàng = golden hour; đèn neon = neon lights
        ánh trăng = moonlight; lúc hoàng hôn = at sunset
    """,
    # Listed last so that, typed without diacritics, "ve" is "vẽ" (draw), not "về" (about).
    "stop#twins": "về",
}
